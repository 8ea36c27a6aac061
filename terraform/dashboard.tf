# The dashboard: the plan's four Redis charts, then the services' own metrics.
#
# One data set per query. PromQL's `a or b` keeps a series of b only where a has no
# series with the same labels, so two aggregates without labels (`sum(...)`) joined by
# `or` draw only the first; each line is its own data set with its own legend.
locals {
  dashboard_filters = {
    redis_memory      = { filter = "${local.redis_filter} AND metric.type = \"${local.redis_metric.memory}\"", aligner = "ALIGN_MEAN" }
    redis_clients     = { filter = "${local.redis_filter} AND metric.type = \"${local.redis_metric.clients}\"", aligner = "ALIGN_MAX" }
    redis_commands    = { filter = "${local.redis_filter} AND metric.type = \"${local.redis_metric.commands}\"", aligner = "ALIGN_RATE" }
    redis_network     = { filter = "${local.redis_filter} AND metric.type = \"${local.redis_metric.fourth}\"", aligner = local.redis_cluster ? "ALIGN_MAX" : "ALIGN_RATE" }
    function_requests = { filter = "${local.function_filter} AND metric.type = \"run.googleapis.com/request_count\"", aligner = "ALIGN_RATE" }
    refused_events    = { filter = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.rejected_events.name}\"", aligner = "ALIGN_RATE" }
    dead_letters      = { filter = "${local.dead_letter_sub} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"", aligner = "ALIGN_MAX" }
    publish_requests  = { filter = "${local.publish_filter} AND metric.type = \"run.googleapis.com/request_count\"", aligner = "ALIGN_RATE" }
    publish_refused   = { filter = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.rejected_notifications.name}\"", aligner = "ALIGN_RATE" }
    publish_dead      = { filter = "${local.publish_dead_letter_sub} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"", aligner = "ALIGN_MAX" }
    connector_sent    = { filter = "${local.connector_filter} AND metric.type = \"vpcaccess.googleapis.com/connector/sent_bytes_count\"", aligner = "ALIGN_RATE" }
    connector_recv    = { filter = "${local.connector_filter} AND metric.type = \"vpcaccess.googleapis.com/connector/received_bytes_count\"", aligner = "ALIGN_RATE" }
  }

  dashboard_promql = {
    streams           = { legend = "open streams", query = "sum(sse_active_connections)" }
    latency_p50       = { legend = "p50", query = "histogram_quantile(0.5, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m])))" }
    latency_p99       = { legend = "p99", query = "histogram_quantile(0.99, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m])))" }
    delivered         = { legend = "delivered/s", query = "sum(rate(sse_notifications_delivered_total[5m]))" }
    connection_errors = { legend = "{{reason}}", query = "sum by (reason) (rate(sse_connection_errors_total[5m]))" }
    slow_client_drops = { legend = "slow-client drops/s", query = "sum(rate(sse_slow_client_drops_total[5m]))" }
    resets            = { legend = "resets/s", query = "sum(rate(sse_resets_total[5m]))" }
    pubsub_resyncs    = { legend = "pub/sub resyncs/s", query = "sum(rate(sse_pubsub_resyncs_total[5m]))" }
  }

  dashboard_data_sets = merge(
    { for k, q in local.dashboard_filters : k => {
      plotType = "LINE"
      timeSeriesQuery = {
        timeSeriesFilter = {
          filter      = q.filter
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = q.aligner }
        }
      }
    } },
    { for k, q in local.dashboard_promql : k => {
      plotType        = "LINE"
      legendTemplate  = q.legend
      timeSeriesQuery = { prometheusQuery = q.query }
    } },
  )

  # One tile per line: its title and the data sets it draws.
  dashboard_tiles = [
    { title = "Redis memory usage (ratio)", data_sets = ["redis_memory"] },
    { title = "Redis connected clients", data_sets = ["redis_clients"] },
    { title = "Redis commands/s", data_sets = ["redis_commands"] },
    # The cluster publishes no network-traffic metric; its busiest node's CPU instead.
    { title = local.redis_cluster ? "Redis CPU, busiest node (ratio)" : "Redis network bytes/s", data_sets = ["redis_network"] },
    { title = "Open SSE streams", data_sets = ["streams"] },
    { title = "Delivery latency p50 / p99 (s)", data_sets = ["latency_p50", "latency_p99"] },
    { title = "Notifications delivered/s", data_sets = ["delivered"] },
    { title = "Connection errors/s by reason", data_sets = ["connection_errors"] },
    { title = "Slow-client drops, resets, pub/sub resyncs per s", data_sets = ["slow_client_drops", "resets", "pubsub_resyncs"] },
    { title = "Function requests/s by response class", data_sets = ["function_requests"] },
    { title = "Job events refused by the function, by reason", data_sets = ["refused_events"] },
    { title = "Dead-letter backlog, job events and notifications", data_sets = ["dead_letters", "publish_dead"] },
    { title = "Publish function requests/s by response class", data_sets = ["publish_requests"] },
    { title = "Notifications refused by Publish, by reason", data_sets = ["publish_refused"] },
    { title = "VPC connector bytes/s, sent and received", data_sets = ["connector_sent", "connector_recv"] },
  ]
}

resource "google_monitoring_dashboard" "main" {
  dashboard_json = jsonencode({
    displayName = "Notifications (${var.environment})"
    mosaicLayout = {
      columns = 12
      tiles = [for i, t in local.dashboard_tiles : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title   = t.title
          xyChart = { dataSets = [for k in t.data_sets : local.dashboard_data_sets[k]] }
        }
      }]
    }
  })
}

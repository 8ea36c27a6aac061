# The plan's two Redis alerts and dashboard, plus alerts and widgets on the services'
# own metrics. The stream service's Prometheus metrics reach Cloud Monitoring through
# the Managed Service for Prometheus sidecar (stream.tf), so they are queried in PromQL;
# the queries cover every stream service in the project (one per environment is the
# norm: give each environment its own project to separate them).
locals {
  redis_filter     = "resource.type = \"redis_instance\" AND resource.labels.instance_id = \"${google_redis_instance.main.id}\""
  dead_letter_sub  = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\""
  connector_filter = "resource.type = \"vpc_access_connector\" AND resource.labels.connector_name = \"${google_vpc_access_connector.main.name}\""
  function_filter  = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.notify.name}\""

  # The connector carries at most max_throughput Mbps; alert at 80 % of it, in bytes/s.
  connector_alert_bytes = var.connector_max_throughput * 1000000 / 8 * 0.8
}

resource "google_monitoring_alert_policy" "redis_memory" {
  display_name          = "${local.name}: Redis memory above 80 % for 5 min"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Redis memory usage ratio > 0.8"
    condition_threshold {
      filter          = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/stats/memory/usage_ratio\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.8
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
    }
  }

  documentation {
    content   = "Redis memory is above 80 % of its size. See docs/RUNBOOK.md, \"Redis memory\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "redis_connections" {
  display_name          = "${local.name}: Redis clients above 90 % of maxclients for 5 min"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Connected clients > 90 % of ${var.redis_max_clients}"
    condition_threshold {
      filter          = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/clients/connected\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(var.redis_max_clients * 0.9)
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Redis is close to maxclients. See docs/RUNBOOK.md, \"Redis connections\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "delivery_latency" {
  display_name          = "${local.name}: delivery latency p99 above ${var.alert_delivery_p99_ms} ms"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "p99 of sse_delivery_latency_seconds"
    condition_prometheus_query_language {
      query    = "histogram_quantile(0.99, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m]))) > ${var.alert_delivery_p99_ms / 1000}"
      duration = "300s"
    }
  }

  documentation {
    content   = "Notifications take longer than planned to reach browsers. See docs/RUNBOOK.md, \"Delivery latency\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "connection_errors" {
  display_name          = "${local.name}: stream connection errors above ${var.alert_connection_errors_per_s}/s"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "rate of sse_connection_errors_total"
    condition_prometheus_query_language {
      query    = "sum(rate(sse_connection_errors_total[5m])) > ${var.alert_connection_errors_per_s}"
      duration = "300s"
    }
  }

  documentation {
    content   = "Streams are being refused or broken. See docs/RUNBOOK.md, \"Connection errors\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  display_name          = "${local.name}: job events in the dead-letter topic"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Undelivered messages on the dead-letter subscription > 0"
    condition_threshold {
      filter          = "${local.dead_letter_sub} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "The function failed some job events on every attempt; students were not notified of them. See docs/RUNBOOK.md, \"Dead letters\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "connector_throughput" {
  display_name          = "${local.name}: VPC connector above 80 % of ${var.connector_max_throughput} Mbps"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Connector bytes sent per second"
    condition_threshold {
      filter          = "${local.connector_filter} AND metric.type = \"vpcaccess.googleapis.com/connector/sent_bytes_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = local.connector_alert_bytes
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "Traffic between the services and Redis nears the connector's throughput. See docs/RUNBOOK.md, \"Scaling\"."
    mime_type = "text/markdown"
  }
}

# Nothing scrapes a function's Prometheus counters in production, so the job events it
# refuses (logged at ERROR as "job event rejected", with the reason) are counted from
# its log lines instead.
resource "google_logging_metric" "rejected_events" {
  name   = "${local.name}-rejected-job-events"
  filter = "${local.function_filter} AND jsonPayload.message = \"job event rejected\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "Why the function refused the event (invalid, stale, ...)."
    }
  }

  label_extractors = {
    reason = "EXTRACT(jsonPayload.reason)"
  }
}

locals {
  # One widget per line: title, then either a Monitoring filter or a PromQL query.
  dashboard_widgets = [
    { title = "Redis memory usage (%)", filter = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/stats/memory/usage_ratio\"", aligner = "ALIGN_MEAN" },
    { title = "Redis connected clients", filter = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/clients/connected\"", aligner = "ALIGN_MAX" },
    { title = "Redis commands/s", filter = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/commands/calls\"", aligner = "ALIGN_RATE" },
    { title = "Redis network bytes/s", filter = "${local.redis_filter} AND metric.type = \"redis.googleapis.com/stats/network_traffic\"", aligner = "ALIGN_RATE" },
    { title = "Open SSE streams", promql = "sum(sse_active_connections)" },
    { title = "Delivery latency p50 / p99 (s)", promql = "histogram_quantile(0.99, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m]))) or histogram_quantile(0.5, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m])))" },
    { title = "Notifications delivered/s", promql = "sum(rate(sse_notifications_delivered_total[5m]))" },
    { title = "Connection errors/s by reason", promql = "sum by (reason) (rate(sse_connection_errors_total[5m]))" },
    { title = "Slow-client drops, resets, pub/sub resyncs per s", promql = "sum(rate(sse_slow_client_drops_total[5m])) or sum(rate(sse_resets_total[5m])) or sum(rate(sse_pubsub_resyncs_total[5m]))" },
    { title = "Function requests/s by response class", filter = "${local.function_filter} AND metric.type = \"run.googleapis.com/request_count\"", aligner = "ALIGN_RATE" },
    { title = "Job events refused by the function, by reason", filter = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.rejected_events.name}\"", aligner = "ALIGN_RATE" },
    { title = "Dead-letter backlog", filter = "${local.dead_letter_sub} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"", aligner = "ALIGN_MAX" },
    { title = "VPC connector bytes sent/s", filter = "${local.connector_filter} AND metric.type = \"vpcaccess.googleapis.com/connector/sent_bytes_count\"", aligner = "ALIGN_RATE" },
  ]
}

resource "google_monitoring_dashboard" "main" {
  dashboard_json = jsonencode({
    displayName = "Notifications (${var.environment})"
    mosaicLayout = {
      columns = 12
      tiles = [for i, w in local.dashboard_widgets : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = w.title
          xyChart = {
            dataSets = [can(w.promql) ? {
              timeSeriesQuery = { prometheusQuery = w.promql }
              plotType        = "LINE"
              } : {
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter      = w.filter
                  aggregation = { alignmentPeriod = "60s", perSeriesAligner = w.aligner }
                }
              }
              plotType = "LINE"
            }]
          }
        }
      }]
    }
  })
}

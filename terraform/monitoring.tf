# The plan's two Redis alerts, plus alerts on the services' own metrics (the dashboard
# is in dashboard.tf). The stream service's Prometheus metrics reach Cloud Monitoring through
# the Managed Service for Prometheus sidecar (stream.tf), so they are queried in PromQL;
# the queries cover every stream service in the project (one per environment is the
# norm: give each environment its own project to separate them).
locals {
  # The instance and the cluster are different monitored resources with their own
  # metric names (cloud.google.com/memorystore/docs/cluster/supported-monitoring-metrics):
  # the cluster's memory and clients are the worst node's, which is what fills first.
  redis_filter = (local.redis_cluster
    ? "resource.type = \"redis.googleapis.com/Cluster\" AND resource.labels.cluster_id = \"${google_redis_cluster.main[0].name}\""
  : "resource.type = \"redis_instance\" AND resource.labels.instance_id = \"${google_redis_instance.main[0].id}\"")
  redis_metric = local.redis_cluster ? {
    memory   = "redis.googleapis.com/cluster/memory/maximum_utilization"
    clients  = "redis.googleapis.com/cluster/clients/maximum_connected_clients"
    commands = "redis.googleapis.com/cluster/commandstats/total_calls_count"
    fourth   = "redis.googleapis.com/cluster/cpu/maximum_utilization"
    } : {
    memory   = "redis.googleapis.com/stats/memory/usage_ratio"
    clients  = "redis.googleapis.com/clients/connected"
    commands = "redis.googleapis.com/commands/calls"
    fourth   = "redis.googleapis.com/stats/network_traffic"
  }
  dead_letter_sub  = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter["notify"].name}\""
  connector_filter = "resource.type = \"vpc_access_connector\" AND resource.labels.connector_name = \"${google_vpc_access_connector.main.name}\""
  function_filter  = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.function["notify"].name}\""

  publish_filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.function["publish"].name}\""
  publish_dead_letter_sub = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter["publish"].name}\""

  # The connector's capacity at its maximum instances (connector.tf), per direction;
  # alert at 80 % of it, in bytes/s.
  connector_alert_bytes = local.connector_capacity_mbps * 1000000 / 8 * 0.8
}

resource "google_monitoring_alert_policy" "redis_memory" {
  display_name          = "${local.name}: Redis memory above 80 % for 5 min"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Redis memory usage ratio > 0.8"
    condition_threshold {
      filter          = "${local.redis_filter} AND metric.type = \"${local.redis_metric.memory}\""
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

# Memorystore's own limit is a fixed 65,000 clients; the plan's budget (10,000 dev,
# 50,000 prod) is what this alert holds the deployment to.
resource "google_monitoring_alert_policy" "redis_connections" {
  display_name          = "${local.name}: Redis clients above 90 % of the ${var.redis_client_budget}-client budget for 5 min"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Connected clients > 90 % of ${var.redis_client_budget}"
    condition_threshold {
      filter          = "${local.redis_filter} AND metric.type = \"${local.redis_metric.clients}\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(var.redis_client_budget * 0.9)
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Redis clients near the planned budget (Memorystore's hard limit is 65,000). See docs/RUNBOOK.md, \"Redis connections\"."
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

# The PromQL alerts above say nothing when no series arrive at all (the sidecar cannot
# scrape, or cannot write): this one fires when stream instances run but the stream's
# metrics are absent, so a scale-to-zero dev service stays quiet.
resource "google_monitoring_alert_policy" "stream_metrics_absent" {
  display_name          = "${local.name}: stream instances run but send no metrics"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "sse_active_connections absent while instances run"
    condition_prometheus_query_language {
      query    = "absent(sse_active_connections) and on() (sum(run_googleapis_com:container_instance_count{monitored_resource=\"cloud_run_revision\",service_name=\"${google_cloud_run_v2_service.stream.name}\"}) > 0)"
      duration = "600s"
    }
  }

  documentation {
    content   = "The metrics sidecar of the stream service sends nothing, so the latency and error alerts cannot fire. See docs/RUNBOOK.md, \"Stream metrics missing\"."
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

# Traffic through the connector, in each direction, against what its instances can
# carry at their maximum count (not the provider's max_throughput, which describes
# e2-micro only).
resource "google_monitoring_alert_policy" "connector_throughput" {
  display_name          = "${local.name}: VPC connector above 80 % of ${local.connector_capacity_mbps} Mbps"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  dynamic "conditions" {
    for_each = { sent = "sent_bytes_count", received = "received_bytes_count" }
    content {
      display_name = "Connector bytes ${conditions.key} per second"
      condition_threshold {
        filter          = "${local.connector_filter} AND metric.type = \"vpcaccess.googleapis.com/connector/${conditions.value}\""
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
  }

  documentation {
    content   = "Traffic between the services and Redis nears the connector's capacity (${var.connector_max_instances} x ${var.connector_machine_type}). See docs/RUNBOOK.md, \"Scaling\"."
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

  depends_on = [google_project_service.apis] # the Logging API
}

# The same for the Publish entry point (publish.tf): notifications it failed on every
# attempt, and the ones it refused.
resource "google_monitoring_alert_policy" "publish_dead_letter_backlog" {
  display_name          = "${local.name}: notifications in the Publish dead-letter topic"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Undelivered messages on the Publish dead-letter subscription > 0"
    condition_threshold {
      filter          = "${local.publish_dead_letter_sub} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
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
    content   = "The Publish function failed some notifications from other services on every attempt; their audiences were not notified. See docs/RUNBOOK.md, \"Notifications in the Publish dead-letter topic\"."
    mime_type = "text/markdown"
  }
}

# Publish logs each refused notification at ERROR with its reason, as "announcement
# rejected". Any ERROR line of that service ending in " rejected" counts (the job path
# says "job event rejected"), so the metric does not hang on the exact wording.
resource "google_logging_metric" "rejected_notifications" {
  name   = "${local.name}-rejected-notifications"
  filter = "${local.publish_filter} AND severity = ERROR AND jsonPayload.message =~ \" rejected$\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "Why the Publish function refused the notification (malformed, expired, stale, ...)."
    }
  }

  label_extractors = {
    reason = "EXTRACT(jsonPayload.reason)"
  }

  depends_on = [google_project_service.apis] # the Logging API
}

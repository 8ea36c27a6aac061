# Writes acknowledged without a replica holding them (docs/RELIABILITY.md, "Durability
# through a Redis failover"). With STANDARD_HA the functions wait for the replica
# (REDIS_REPLICA_ACKS, default 1) and count a write as unreplicated only when no replica
# is connected: during a replica rebuild, or when Redis refuses INFO or WAIT. Each such
# write could be lost in a failover, so it must not go unnoticed. A BASIC instance has
# no replica at all: every write is unreplicated by design and nothing here is created.
# A cluster with redis_cluster_replica_count >= 1 is replicated like STANDARD_HA (the
# functions WAIT on the written key's shard), with none like BASIC.
#
# The functions' Prometheus counter (notify_unreplicated_total) is not scraped in
# production; they log at WARNING "writes not replicated" with the count since the last
# line (the first at once, then at most one a minute), and this metric counts those
# lines: each is a minute with unreplicated writes.
resource "google_logging_metric" "unreplicated_writes" {
  count  = local.redis_replicated ? 1 : 0
  name   = "${local.name}-unreplicated-writes"
  filter = "(${local.function_filter} OR ${local.publish_filter}) AND severity = WARNING AND jsonPayload.message = \"writes not replicated\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }

  depends_on = [google_project_service.apis] # the Logging API
}

resource "google_monitoring_alert_policy" "unreplicated_writes" {
  count                 = local.redis_replicated ? 1 : 0
  display_name          = "${local.name}: notifications acknowledged without a Redis replica"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "\"writes not replicated\" logged by a function"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.unreplicated_writes[0].name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    content   = "The functions acknowledged notifications while no Redis replica was connected: a failover now would lose them. See docs/RUNBOOK.md, \"Writes not replicated\"."
    mime_type = "text/markdown"
  }
}

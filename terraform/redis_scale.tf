# Redis grows before it fills (issue 30 A3; docs/RUNBOOK.md, "Redis memory scaling").
# Memorystore has no autoscaling setting of its own, so: an alert on memory usage →
# a Pub/Sub notification channel → the RedisScale function (functions/redisscale),
# which raises memory_size_gb (instance) or shard_count (cluster) one step, never
# above redis_autoscale_max. redis.tf and redis_cluster.tf ignore changes to those two
# attributes, so the next apply does not shrink Redis back to the variable.

variable "redis_autoscale_max" {
  description = "Ceiling of automatic growth: GB of the instance (standalone) or shards of the cluster. 0 turns automatic scaling off. Must exceed the starting size (redis_memory_size_gb or redis_cluster_shard_count), which is also the floor."
  type        = number
  default     = 0
  validation {
    condition     = var.redis_autoscale_max == 0 || (floor(var.redis_autoscale_max) == var.redis_autoscale_max && var.redis_autoscale_max <= (var.redis_mode == "cluster" ? 250 : 300) && var.redis_autoscale_max > (var.redis_mode == "cluster" ? var.redis_cluster_shard_count : var.redis_memory_size_gb))
    error_message = "redis_autoscale_max must be 0 (off) or a whole number above the starting size (redis_memory_size_gb, or redis_cluster_shard_count in cluster mode) and at most 300 GB / 250 shards."
  }
}

variable "redis_autoscale_step" {
  description = "How much one scaling alert adds: GB (standalone) or shards (cluster)."
  type        = number
  default     = 1
  validation {
    condition     = var.redis_autoscale_step >= 1 && floor(var.redis_autoscale_step) == var.redis_autoscale_step
    error_message = "redis_autoscale_step must be a whole number of at least 1."
  }
}

variable "redis_autoscale_threshold" {
  description = "Memory usage ratio (the fullest node's, in cluster mode) held for 5 min that triggers a step; below the 0.8 human alert, so the machine acts first."
  type        = number
  default     = 0.7
  validation {
    condition     = var.redis_autoscale_threshold >= 0.5 && var.redis_autoscale_threshold < 0.8
    error_message = "redis_autoscale_threshold must be from 0.5 to below 0.8 (the Redis memory alert's threshold)."
  }
}

locals {
  redis_autoscale = var.redis_autoscale_max > 0
  # The resource the function PATCHes: projects/P/locations/R/instances|clusters/NAME.
  redis_resource = local.redis_cluster ? google_redis_cluster.main[0].id : google_redis_instance.main[0].id
  redis_start    = local.redis_cluster ? var.redis_cluster_shard_count : var.redis_memory_size_gb
  # The narrowest grant that lets the function read the size and change it.
  redis_scale_permissions = local.redis_cluster ? ["redis.clusters.get", "redis.clusters.update"] : ["redis.instances.get", "redis.instances.update"]
  # Cloud Monitoring publishes to a Pub/Sub channel as this service agent.
  monitoring_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "redis_scale" {
  count                      = local.redis_autoscale ? 1 : 0
  name                       = "${local.name}-redis-scale"
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic_iam_member" "redis_scale_monitoring" {
  count  = local.redis_autoscale ? 1 : 0
  topic  = google_pubsub_topic.redis_scale[0].id
  role   = "roles/pubsub.publisher"
  member = local.monitoring_agent
}

resource "google_monitoring_notification_channel" "redis_scale" {
  count        = local.redis_autoscale ? 1 : 0
  display_name = "${local.name}: Redis scaling (RedisScale function)"
  type         = "pubsub"
  labels       = { topic = google_pubsub_topic.redis_scale[0].id }
  depends_on   = [google_pubsub_topic_iam_member.redis_scale_monitoring]
}

resource "google_monitoring_alert_policy" "redis_scale" {
  count                 = local.redis_autoscale ? 1 : 0
  display_name          = "${local.name}: Redis memory above ${var.redis_autoscale_threshold * 100} % (scale)"
  combiner              = "OR"
  notification_channels = [google_monitoring_notification_channel.redis_scale[0].id]

  conditions {
    display_name = "Redis memory usage ratio > ${var.redis_autoscale_threshold}"
    condition_threshold {
      filter          = "${local.redis_filter} AND metric.type = \"${local.redis_metric.memory}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.redis_autoscale_threshold
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
    }
  }

  # One step lowers the ratio and closes the incident; if one was not enough the
  # incident stays open, and the repeated notification asks for the next step.
  alert_strategy {
    auto_close = "1800s"
    notification_channel_strategy {
      notification_channel_names = [google_monitoring_notification_channel.redis_scale[0].id]
      renotify_interval          = "1800s"
    }
  }

  documentation {
    content   = "Not for people: the RedisScale function raises Redis one step when this opens. See docs/RUNBOOK.md, \"Redis memory scaling\"."
    mime_type = "text/markdown"
  }
}

# The function's own identity: it may read and resize this project's Redis, write its
# logs, and nothing else (no Redis data, no secrets).
resource "google_service_account" "redis_scale" {
  count        = local.redis_autoscale ? 1 : 0
  account_id   = "${var.name_prefix}-scl-${var.environment}"
  display_name = "Redis scaling function (runtime)"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_custom_role" "redis_scaler" {
  count       = local.redis_autoscale ? 1 : 0
  role_id     = "${replace(local.name, "-", "_")}_redis_scaler"
  title       = "${local.name} Redis scaler"
  description = "Read a Memorystore instance or cluster and update it (its size): the RedisScale function."
  permissions = local.redis_scale_permissions
  stage       = "GA"
  depends_on  = [google_project_service.apis]
}

resource "google_project_iam_member" "redis_scale" {
  for_each = local.redis_autoscale ? {
    scaler = google_project_iam_custom_role.redis_scaler[0].name
    logs   = "roles/logging.logWriter"
  } : {}
  project = var.project_id
  role    = each.value
  member  = google_service_account.redis_scale[0].member
}

# Eventarc's identity for this trigger: receives the events, invokes this function only.
resource "google_service_account" "redis_scale_trigger" {
  count        = local.redis_autoscale ? 1 : 0
  account_id   = "${var.name_prefix}-sct-${var.environment}"
  display_name = "Redis scaling trigger (Eventarc)"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "redis_scale_trigger_receiver" {
  count   = local.redis_autoscale ? 1 : 0
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.redis_scale_trigger[0].member
}

resource "google_cloudfunctions2_function" "redis_scale" {
  count    = local.redis_autoscale ? 1 : 0
  name     = "${local.name}-redis-scale"
  location = var.region

  # The same source as Notify and Publish (function.tf), another entry point.
  build_config {
    runtime         = var.function_runtime
    entry_point     = "RedisScale"
    service_account = google_service_account.function_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_bootstrap.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.redis_scale[0].email
    available_memory      = "256Mi"
    # One scaler at a time: two instances could read the same size and both step.
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    # No VPC access: it talks to the Memorystore API, not to Redis.
    environment_variables = {
      GOOGLE_CLOUD_PROJECT = var.project_id
      LOG_LEVEL            = var.log_level
      SCALE_RESOURCE       = local.redis_resource
      SCALE_MIN            = tostring(local.redis_start)
      SCALE_MAX            = tostring(var.redis_autoscale_max)
      SCALE_STEP           = tostring(var.redis_autoscale_step)
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.redis_scale[0].id
    service_account_email = google_service_account.redis_scale_trigger[0].email
    retry_policy          = "RETRY_POLICY_RETRY" # the API answered 5xx: try again
  }

  lifecycle {
    ignore_changes = [build_config[0].source, build_config[0].docker_repository, labels]
  }

  depends_on = [
    google_project_iam_member.redis_scale,
    google_project_iam_member.redis_scale_trigger_receiver,
    google_project_iam_member.function_build,
    google_project_iam_member.function_build_source,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "redis_scale_invoker" {
  count    = local.redis_autoscale ? 1 : 0
  name     = google_cloudfunctions2_function.redis_scale[0].name
  location = var.region
  role     = "roles/run.invoker"
  member   = google_service_account.redis_scale_trigger[0].member
}

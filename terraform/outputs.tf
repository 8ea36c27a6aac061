output "stream_url" {
  description = "Base URL of the stream service (browsers open $stream_url/api/v1/notifications/stream)."
  value       = google_cloud_run_v2_service.stream.uri
}

output "redis_host" {
  description = "Private address of Memorystore (reachable only through the VPC): the instance's, or the cluster's discovery endpoint."
  value       = local.redis_cluster ? google_redis_cluster.main[0].discovery_endpoints[0].address : google_redis_instance.main[0].host
}

output "redis_port" {
  description = "Memorystore's port: the instance's 6379, or 6378 with in-transit encryption; the cluster's discovery port."
  value       = local.redis_cluster ? google_redis_cluster.main[0].discovery_endpoints[0].port : google_redis_instance.main[0].port
}

output "redis_mode" {
  description = "standalone or cluster (REDIS_MODE of both services)."
  value       = var.redis_mode
}

output "content_job_topic" {
  description = "The existing topic the function listens to; the runbook republishes dead letters here."
  value       = var.content_job_topic
}

output "dead_letter_topic" {
  description = "Job events the function failed on every attempt."
  value       = google_pubsub_topic.dead_letter["notify"].id
}

output "dead_letter_subscription" {
  description = "Pull from here to inspect or replay dead letters (docs/RUNBOOK.md)."
  value       = google_pubsub_subscription.dead_letter["notify"].id
}

output "function_name" {
  description = "The CloudEvents function (cloudbuild.yaml's _FUNCTION)."
  value       = google_cloudfunctions2_function.function["notify"].name
}

output "artifact_registry" {
  description = "Where Cloud Build pushes the stream image."
  value       = local.image_repo
}

output "jwt_secret_id" {
  description = "Add the backend's JWT signing secret here (docs/DEPLOY.md); null when JWKS is used."
  value       = local.jwt_from_secret ? google_secret_manager_secret.jwt[0].secret_id : null
}

output "deployer_service_account" {
  description = "The CI account: the first `gcloud builds submit --service-account` runs as it (docs/DEPLOY.md)."
  value       = google_service_account.deployer.id
}

output "build_staging_dir" {
  description = "Pass as `gcloud builds submit --gcs-source-staging-dir`: the deployer can read its source only from here."
  value       = "gs://${google_storage_bucket.build_source.name}/source"
}

output "notifications_topic" {
  description = "Full name (projects/P/topics/T) of the topic other services publish notifications to (docs/PROTOCOL.md); only notification_publishers may publish."
  value       = google_pubsub_topic.notifications.id
}

output "notifications_topic_name" {
  description = "Short name of the notifications topic, for `gcloud pubsub topics publish` in its project."
  value       = google_pubsub_topic.notifications.name
}

output "publish_function_name" {
  description = "The Publish entry point's function (same source as function_name)."
  value       = google_cloudfunctions2_function.function["publish"].name
}

output "publish_dead_letter_topic" {
  description = "Notifications the Publish function failed on every attempt."
  value       = google_pubsub_topic.dead_letter["publish"].id
}

output "publish_dead_letter_subscription" {
  description = "Pull from here to inspect or replay Publish's dead letters (docs/RUNBOOK.md)."
  value       = google_pubsub_subscription.dead_letter["publish"].id
}

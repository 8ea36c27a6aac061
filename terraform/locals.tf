locals {
  # Resource names carry the environment so dev and prod can share a project.
  name = "${var.name_prefix}-${var.environment}"

  is_prod = var.environment == "prod"

  # host:port is what REDIS_ADDR expects; Memorystore answers TLS on the same port.
  redis_addr = "${google_redis_instance.main.host}:${google_redis_instance.main.port}"

  redis_tls = var.redis_transit_encryption

  # Mounted secret files live under here in both services.
  redis_ca_dir  = "/secrets/redis-ca"
  redis_ca_file = "ca.pem"

  # The Pub/Sub service agent forwards undeliverable messages to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Where `gcloud functions deploy` stores the function's uploaded source (created by
  # Cloud Functions itself on the first deploy).
  gcf_source_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"

  image_repo = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

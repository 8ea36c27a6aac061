locals {
  # Resource names carry the environment so dev and prod can share a project.
  name = "${var.name_prefix}-${var.environment}"

  is_prod = var.environment == "prod"

  # redis_mode (variables_redis_cluster.tf): one instance or a cluster.
  redis_cluster = var.redis_mode == "cluster"
  # The cluster authenticates with IAM where the instance uses its AUTH string.
  redis_iam_auth    = local.redis_cluster && var.redis_auth_enabled
  redis_auth_string = !local.redis_cluster && var.redis_auth_enabled
  # Whether the data has a replica the functions' WAIT can count on (replication.tf).
  redis_replicated = local.redis_cluster ? var.redis_cluster_replica_count >= 1 : var.redis_tier == "STANDARD_HA"

  # host:port is what REDIS_ADDR expects; Memorystore answers TLS on the same port. A
  # cluster's discovery endpoint is its one seed address: the client learns the shards
  # from it (CLUSTER SHARDS / SLOTS).
  redis_addr = (local.redis_cluster
    ? "${google_redis_cluster.main[0].discovery_endpoints[0].address}:${google_redis_cluster.main[0].discovery_endpoints[0].port}"
  : "${google_redis_instance.main[0].host}:${google_redis_instance.main[0].port}")

  # One PEM per line: Google lists a second CA while it rotates them, and certificates
  # run together are unparseable (shared/redisbroker refuses such a bundle).
  redis_ca_pem = (local.redis_cluster
    ? join("\n", [for c in flatten([for ca in google_redis_cluster.main[0].managed_server_ca : [for cc in ca.ca_certs : cc.certificates]]) : trimspace(c)])
  : join("\n", [for c in google_redis_instance.main[0].server_ca_certs : trimspace(c.cert)]))

  # What the services' REDIS_* environment adds for the mode (function.tf, stream.tf).
  redis_mode_env = merge(
    local.redis_cluster ? { REDIS_MODE = "cluster" } : {},
    local.redis_iam_auth ? { REDIS_IAM_AUTH = "true" } : {},
  )

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

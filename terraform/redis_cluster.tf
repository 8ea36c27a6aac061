# Memorystore for Redis Cluster (redis_mode = "cluster"): sharded, a replica per shard,
# shards added or removed online (docs/DEPLOY.md, "Choosing the Redis mode").
#
# The cluster is reached through Private Service Connect, not VPC peering: Memorystore
# creates its endpoints in this VPC itself, in the subnet a service connection policy
# for the service class gcp-memorystore-redis names (cloud.google.com/memorystore/docs/
# cluster/networking). The cluster's network must be the policy's network, or creation
# fails, hence the depends_on.
resource "google_network_connectivity_service_connection_policy" "redis" {
  count = local.redis_cluster ? 1 : 0

  name          = "${local.name}-redis"
  location      = var.region
  service_class = "gcp-memorystore-redis"
  description   = "Memorystore for Redis Cluster endpoints of ${local.name}"
  network       = google_compute_network.main.id

  psc_config {
    # The Redis subnet: the endpoints take their addresses from it, and the egress
    # rules (network.tf) admit the services to it.
    subnetworks = [google_compute_subnetwork.redis.id]
  }

  depends_on = [google_project_service.apis]
}

resource "google_redis_cluster" "main" {
  count = local.redis_cluster ? 1 : 0

  name          = local.name
  region        = var.region
  shard_count   = var.redis_cluster_shard_count
  replica_count = var.redis_cluster_replica_count
  node_type     = var.redis_cluster_node_type

  psc_configs {
    network = google_compute_network.main.id
  }

  # The cluster has no AUTH string: it authenticates with IAM or not at all. With IAM
  # each new connection sends an OAuth access token of the service account as its AUTH
  # password (the services do so when REDIS_IAM_AUTH=true), and the accounts need
  # roles/redis.dbConnectionUser (below). Chosen over AUTH_MODE_DISABLED because the
  # endpoints sit in a subnet anything in the VPC can route to; IAM makes a connection
  # prove who it is, as the AUTH string does for the instance (docs/DEPLOY.md).
  authorization_mode = var.redis_auth_enabled ? "AUTH_MODE_IAM_AUTH" : "AUTH_MODE_DISABLED"
  # Only settable at creation, like the instance's.
  transit_encryption_mode = var.redis_transit_encryption ? "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION" : "TRANSIT_ENCRYPTION_MODE_DISABLED"

  # The instance's parameters the cluster supports; "timeout" is not among them
  # (cloud.google.com/memorystore/docs/cluster/supported-instance-configurations).
  redis_configs = {
    "maxmemory-policy"       = "volatile-lru"
    "notify-keyspace-events" = "Ex"
  }

  # As for the instance: RDB snapshots in prod, none in dev.
  persistence_config {
    mode = var.redis_rdb_snapshot_period == "" ? "DISABLED" : "RDB"
    dynamic "rdb_config" {
      for_each = var.redis_rdb_snapshot_period == "" ? [] : [1]
      content {
        rdb_snapshot_period = var.redis_rdb_snapshot_period
      }
    }
  }

  # Primaries and replicas spread over the region's zones (the default, stated).
  zone_distribution_config {
    mode = "MULTI_ZONE"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 2
        minutes = 0
        seconds = 0
        nanos   = 0
      }
    }
  }

  deletion_protection_enabled = var.redis_deletion_protection

  lifecycle {
    # redisscale (functions/redisscale) adds shards when memory runs high; Terraform
    # must not take them away again on the next apply (docs/RUNBOOK.md).
    ignore_changes = [shard_count]
  }

  depends_on = [google_network_connectivity_service_connection_policy.redis]
}

# IAM authentication: both runtime accounts may open connections. Granted on the
# project (the documented default); the role carries only redis.clusters.connect.
resource "google_project_iam_member" "redis_db_connection" {
  for_each = local.redis_iam_auth ? {
    stream   = google_service_account.stream.member
    function = google_service_account.function.member
  } : {}

  project = var.project_id
  role    = "roles/redis.dbConnectionUser"
  member  = each.value
}

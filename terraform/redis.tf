# Memorystore for Redis (Basic or Standard tier). Its client limit is fixed at 65,000
# per instance and the API refuses a maxclients parameter, so the plan's 10,000 /
# 50,000 are an alert budget (redis_client_budget, monitoring.tf), not a setting;
# only Memorystore for Redis Cluster or for Valkey would let maxclients be set.
resource "google_redis_instance" "main" {
  count = local.redis_cluster ? 0 : 1 # redis_mode = "standalone" (redis_cluster.tf has the other)

  name           = local.name
  region         = var.region
  tier           = var.redis_tier
  memory_size_gb = var.redis_memory_size_gb
  redis_version  = var.redis_version

  connect_mode       = "DIRECT_PEERING"
  authorized_network = google_compute_network.main.id
  reserved_ip_range  = var.redis_reserved_ip_range

  auth_enabled = var.redis_auth_enabled
  # Only settable at creation: changing it replaces the instance (and its data).
  transit_encryption_mode = var.redis_transit_encryption ? "SERVER_AUTHENTICATION" : "DISABLED"

  # Parameters from Memorystore's supported list only.
  redis_configs = {
    "maxmemory-policy"       = "volatile-lru"
    "notify-keyspace-events" = "Ex"
    "timeout"                = "300"
  }

  # Redis is the only store: every student's history lives here (and Phase 2's read
  # state and preferences). Prod snapshots it (RDB) so a restart or the loss of both
  # nodes recovers from the last snapshot instead of starting empty. Off in dev (redis_rdb_snapshot_period = ""): docs/DEPLOY.md says
  # what a restart then loses.
  persistence_config {
    persistence_mode    = var.redis_rdb_snapshot_period == "" ? "DISABLED" : "RDB"
    rdb_snapshot_period = var.redis_rdb_snapshot_period == "" ? null : var.redis_rdb_snapshot_period
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

  deletion_protection = var.redis_deletion_protection

  lifecycle {
    # RedisScale (redis_scale.tf) grows the instance when memory runs high; the next
    # apply must not shrink it back to redis_memory_size_gb, which is the size at
    # creation and the scaling floor. Resize by hand with gcloud (docs/RUNBOOK.md).
    ignore_changes = [memory_size_gb]
  }

  depends_on = [google_project_service.apis]
}

# The instance was a single resource before redis_mode made it optional.
moved {
  from = google_redis_instance.main
  to   = google_redis_instance.main[0]
}

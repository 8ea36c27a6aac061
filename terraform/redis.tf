resource "google_redis_instance" "main" {
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

  redis_configs = {
    "maxmemory-policy"       = "volatile-lru"
    "notify-keyspace-events" = "Ex"
    "maxclients"             = tostring(var.redis_max_clients)
    "timeout"                = "300"
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

  depends_on = [google_project_service.apis]
}

# A dedicated VPC for Memorystore and the serverless egress into it.
resource "google_compute_network" "main" {
  name                    = local.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"

  depends_on = [google_project_service.apis]
}

# The plan's Redis subnet. Memorystore in DIRECT_PEERING mode takes its address from
# redis_reserved_ip_range (a peered range of its own); this subnet is for anything
# that reaches Redis from inside the VPC (Direct VPC egress, an operator's VM), and
# its flow logs record every such connection.
resource "google_compute_subnetwork" "redis" {
  name                     = "${local.name}-redis"
  network                  = google_compute_network.main.id
  region                   = var.region
  ip_cidr_range            = var.redis_subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# The Serverless VPC Access connector's own /28.
resource "google_compute_subnetwork" "connector" {
  name          = "${local.name}-connector"
  network       = google_compute_network.main.id
  region        = var.region
  ip_cidr_range = var.connector_subnet_cidr
}

# Redis (6379; with in-transit encryption Memorystore serves TLS on the same port,
# and 6378 is allowed for a later migration) from the egress ranges only: the
# connector's subnet, and the Redis subnet when Direct VPC egress is chosen.
resource "google_compute_firewall" "redis_from_egress" {
  name        = "${local.name}-allow-redis"
  network     = google_compute_network.main.id
  direction   = "INGRESS"
  priority    = 1000
  target_tags = [var.redis_target_tag]

  source_ranges = local.redis_client_ranges

  allow {
    protocol = "tcp"
    ports    = ["6379", "6378"]
  }
}

# Google's health checkers, as the plan lists them, to instances tagged for health
# checks. Not to the Redis tag: 6379 stays reachable from the egress ranges only.
resource "google_compute_firewall" "health_checks" {
  name          = "${local.name}-allow-health-checks"
  network       = google_compute_network.main.id
  direction     = "INGRESS"
  priority      = 1000
  target_tags   = [var.health_check_target_tag]
  source_ranges = ["130.211.0.0/22", "35.191.0.0/16"]

  allow {
    protocol = "tcp"
  }
}

locals {
  redis_client_ranges = var.stream_vpc_egress == "direct" ? [var.connector_subnet_cidr, var.redis_subnet_cidr] : [var.connector_subnet_cidr]
}

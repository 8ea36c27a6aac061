# A dedicated VPC for Memorystore and the serverless egress into it.
resource "google_compute_network" "main" {
  name                    = local.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"

  depends_on = [google_project_service.apis]
}

# The plan's Redis subnet. Memorystore in DIRECT_PEERING mode takes its address from
# redis_reserved_ip_range (a peered range of its own); this subnet is for anything
# that reaches Redis from inside the VPC (Direct VPC egress, an operator's VM). Its
# flow logs record an operator VM's connections, not the services': the connector's
# VMs send from the connector subnet, and Direct VPC egress traffic is not reported in
# flow logs (docs/DEPLOY.md); the Redis egress rules' firewall logs show refusals.
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

# Who may open a connection to Redis, enforced where it can be: on the sending side.
#
# Memorystore's nodes live in a Google-managed network peered with this one, and VPC
# firewall rules apply only to instances of this network, so an ingress rule "to
# Redis" (the plan's wording) would restrict nothing. What this network can control
# is egress: every instance here is denied TCP to Memorystore's range on 6379
# (plain) and 6378 (Memorystore's TLS port), except the connector's VMs, which carry
# Google's tag vpc-connector-REGION-NAME, and workloads tagged redis_client_tag
# (Direct VPC egress instances, an operator's VM). AUTH and TLS (redis.tf) remain
# the controls that hold whatever runs in the network (docs/DEPLOY.md, "Choices").
#
# In cluster mode the same rules guard the cluster's Private Service Connect endpoints,
# which live in the Redis subnet: the discovery port 6379 and the node ports
# 11000-13047 (cloud.google.com/memorystore/docs/cluster/connect-cluster-instance).
locals {
  redis_ports   = local.redis_cluster ? ["6379", "11000-13047"] : ["6378", "6379"]
  redis_range   = local.redis_cluster ? var.redis_subnet_cidr : var.redis_reserved_ip_range
  connector_tag = "vpc-connector-${var.region}-${google_vpc_access_connector.main.name}"
}

resource "google_compute_firewall" "redis_egress_allow" {
  name               = "${local.name}-redis-egress-allow"
  network            = google_compute_network.main.id
  direction          = "EGRESS"
  priority           = 900
  target_tags        = [local.connector_tag, var.redis_client_tag]
  destination_ranges = [local.redis_range]

  allow {
    protocol = "tcp"
    ports    = local.redis_ports
  }
}

resource "google_compute_firewall" "redis_egress_deny" {
  name               = "${local.name}-redis-egress-deny"
  network            = google_compute_network.main.id
  direction          = "EGRESS"
  priority           = 1000 # after the allow rule (lower numbers win)
  destination_ranges = [local.redis_range]

  deny {
    protocol = "tcp"
    ports    = local.redis_ports
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA" # a denied attempt is worth seeing
  }
}

# Google's health checkers, as the plan lists them, to instances tagged for health
# checks. Nothing in this configuration carries the tag today (Cloud Run and
# Memorystore are health-checked by Google itself); it is there for a VM or load
# balancer backend added later, and it opens nothing to Redis.
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

# Serverless VPC Access: the function always egresses through it; the stream service
# does unless stream_vpc_egress = "direct". Sized by instances, as Google recommends
# (the provider accepts instances or throughput, not both, and documents its
# throughput fields for e2-micro only); the saturation alert (monitoring.tf) derives
# the connector's real capacity from the machine type and the maximum instances.
resource "google_vpc_access_connector" "main" {
  name          = substr("${var.name_prefix}-${var.environment}", 0, 25)
  region        = var.region
  machine_type  = var.connector_machine_type
  min_instances = var.connector_min_instances
  max_instances = var.connector_max_instances

  subnet {
    name = google_compute_subnetwork.connector.name
  }

  depends_on = [google_project_service.apis]
}

locals {
  # Throughput of one connector instance, in Mbps: Google's table for 2-10 instances
  # (f1-micro 100-500, e2-micro 200-1000, e2-standard-4 3200-16000 Mbps) divided by
  # the instance count.
  connector_instance_mbps = {
    "f1-micro"      = 50
    "e2-micro"      = 100
    "e2-standard-4" = 1600
  }
  connector_capacity_mbps = local.connector_instance_mbps[var.connector_machine_type] * var.connector_max_instances
}

# Serverless VPC Access: the function always egresses through it; the stream service
# does unless stream_vpc_egress = "direct". Sized by instances, as Google recommends
# (the provider accepts instances or throughput, not both); the plan's throughput
# range feeds the saturation alert in monitoring.tf instead.
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

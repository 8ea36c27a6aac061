# Serverless VPC Access: the function always egresses through it; the stream service
# does unless stream_vpc_egress = "direct". Sized by instances, as Google recommends
# (the provider accepts instances or throughput, not both, and documents its
# throughput fields for e2-micro only); the saturation alert (monitoring.tf) derives
# the connector's real capacity from the machine type and the maximum instances.
#
# Its name must be under 21 characters with each hyphen counting as two
# (cloud.google.com/run/docs/configuring/vpc-connectors), stricter than the provider's
# own check of 25, so a longer name plans and then fails to create. The name is
# "<prefix>-<environment>" when that fits, else the same without the prefix's hyphens
# (prod: "vividlynotify-prod"); the precondition refuses a prefix too long for both.
locals {
  connector_names = ["${var.name_prefix}-${var.environment}", "${replace(var.name_prefix, "-", "")}-${var.environment}"]
  # Length with every hyphen counted twice, as the API counts it.
  connector_name_weights = [for n in local.connector_names : length(n) + length(regexall("-", n))]
  connector_name         = local.connector_name_weights[0] < 21 ? local.connector_names[0] : local.connector_names[1]
}

resource "google_vpc_access_connector" "main" {
  name          = local.connector_name
  region        = var.region
  machine_type  = var.connector_machine_type
  min_instances = var.connector_min_instances
  max_instances = var.connector_max_instances

  subnet {
    name = google_compute_subnetwork.connector.name
  }

  lifecycle {
    precondition {
      condition     = local.connector_name_weights[1] < 21
      error_message = "The connector name ${local.connector_names[1]} is too long: Serverless VPC Access needs under 21 characters with each hyphen counting as two. Shorten name_prefix."
    }
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

# Every API the configuration uses. Disabling them on destroy would break whatever
# else the project runs, so they stay on.
#
# A fresh project needs three of them before Terraform can do anything at all: Service
# Usage (to enable the others), Resource Manager (data.google_project) and IAM (service
# accounts). docs/DEPLOY.md enables those three with gcloud first; they are listed here
# too so Terraform records them. Every service account depends_on this resource, so no
# account is created before the IAM API is on.
locals {
  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com", # log-based metrics (monitoring.tf)
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "vpcaccess.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  # Private Service Connect's service connection policy (redis_cluster.tf) needs the
  # Network Connectivity API; only cluster mode uses it.
  # fcm.googleapis.com only with FCM on (fcm.tf).
  for_each = toset(concat(local.apis,
    local.redis_cluster ? ["networkconnectivity.googleapis.com"] : [],
    var.fcm_enabled ? ["fcm.googleapis.com"] : [],
  ))

  service            = each.value
  disable_on_destroy = false
}

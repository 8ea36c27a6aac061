# One identity per job, each with only what that job does.

# Runs the stream service: reads its secrets, writes logs and metrics.
resource "google_service_account" "stream" {
  account_id   = var.stream_service_account_id
  display_name = "Notifications stream (Cloud Run runtime)"
}

# Runs the function: reads the Redis secrets, writes logs and metrics.
resource "google_service_account" "function" {
  account_id   = "${var.name_prefix}-fn-${var.environment}"
  display_name = "Notifications function (runtime)"
}

# Eventarc's identity when it pushes events: may invoke the function and nothing else.
resource "google_service_account" "trigger" {
  account_id   = "${var.name_prefix}-trg-${var.environment}"
  display_name = "Notifications function trigger (Eventarc)"
}

# Deploys images and function code from Cloud Build.
resource "google_service_account" "deployer" {
  account_id   = "${var.name_prefix}-ci-${var.environment}"
  display_name = "Notifications Cloud Build deployer"
}

locals {
  runtime_roles = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]

  deployer_roles = [
    "roles/artifactregistry.writer",
    "roles/cloudfunctions.developer",
    "roles/logging.logWriter",
    "roles/run.developer",
  ]
}

resource "google_project_iam_member" "stream_runtime" {
  for_each = toset(local.runtime_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.stream.member
}

resource "google_project_iam_member" "function_runtime" {
  for_each = toset(local.runtime_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.function.member
}

# Eventarc needs to receive events as the trigger identity.
resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger.member
}

resource "google_project_iam_member" "deployer" {
  for_each = toset(local.deployer_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.deployer.member
}

# Deploying a revision that runs as these accounts requires acting as them.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    stream   = google_service_account.stream.name
    function = google_service_account.function.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

# One identity per job, each with only what that job does. Every account waits for
# the API enablement (apis.tf): on a fresh project the IAM API refuses to create
# accounts until it is on.

# Runs the stream service: reads its secrets, writes logs and metrics.
resource "google_service_account" "stream" {
  account_id   = var.stream_service_account_id
  display_name = "Notifications stream (Cloud Run runtime)"
  depends_on   = [google_project_service.apis]
}

# Runs the function: reads the Redis secrets, writes logs and metrics.
resource "google_service_account" "function" {
  account_id   = "${var.name_prefix}-fn-${var.environment}"
  display_name = "Notifications function (runtime)"
  depends_on   = [google_project_service.apis]
}

# Builds the function's container from its source (Cloud Build, on every deploy):
# reads the source archive, pushes the image, writes the build log. Nothing else.
resource "google_service_account" "function_build" {
  account_id   = "${var.name_prefix}-fnb-${var.environment}"
  display_name = "Notifications function build (Cloud Build)"
  depends_on   = [google_project_service.apis]
}

# Eventarc's identity when it pushes events: may invoke the function and nothing else.
resource "google_service_account" "trigger" {
  account_id   = "${var.name_prefix}-trg-${var.environment}"
  display_name = "Notifications function trigger (Eventarc)"
  depends_on   = [google_project_service.apis]
}

# Deploys images and function code from Cloud Build: push to main and the manual
# trigger, and the first hand-run build (docs/DEPLOY.md).
resource "google_service_account" "deployer" {
  account_id   = "${var.name_prefix}-ci-${var.environment}"
  display_name = "Notifications Cloud Build deployer"
  depends_on   = [google_project_service.apis]
}

# Runs the pull-request and daily builds: tests only. It can write its build log and
# nothing else, so a pull request that edits cloudbuild.yaml to deploy gets nowhere.
resource "google_service_account" "tester" {
  account_id   = "${var.name_prefix}-cit-${var.environment}"
  display_name = "Notifications Cloud Build tests (no deploy rights)"
  depends_on   = [google_project_service.apis]
}

locals {
  runtime_roles = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]

  deployer_roles = [
    "roles/artifactregistry.writer",
    "roles/cloudfunctions.developer",
    "roles/logging.logWriter",
    "roles/run.developer",
  ]

  tester_roles = ["roles/logging.logWriter"]

  # The function build pushes to the gcf-artifacts repository Cloud Functions creates
  # itself, so Artifact Registry writer is granted on the project; reading the source
  # is limited to the two buckets a build reads it from (storage binding below).
  function_build_roles = ["roles/artifactregistry.writer", "roles/logging.logWriter"]
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

resource "google_project_iam_member" "function_build" {
  for_each = toset(local.function_build_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.function_build.member
}

# The function's source: Terraform's first archive (registry.tf) and the bucket
# `gcloud functions deploy` uploads to (gcf-v2-sources-NUMBER-REGION, created by
# Cloud Functions on the first deploy, so it cannot be named as a resource here).
resource "google_project_iam_member" "function_build_source" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.function_build.member

  condition {
    title       = "function-source-buckets"
    description = "Only the buckets the function's source is read from."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.function_source.name}/\") || resource.name == \"projects/_/buckets/${google_storage_bucket.function_source.name}\" || resource.name.startsWith(\"projects/_/buckets/${local.gcf_source_bucket}/\") || resource.name == \"projects/_/buckets/${local.gcf_source_bucket}\""
  }
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

resource "google_project_iam_member" "tester" {
  for_each = toset(local.tester_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.tester.member
}

# Deploying a revision that runs as these accounts, or a function built by the build
# account, requires acting as them. The tester acts as nobody.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    stream         = google_service_account.stream.name
    function       = google_service_account.function.name
    function_build = google_service_account.function_build.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

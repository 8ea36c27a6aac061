# The four ways cloudbuild.yaml runs (REQUIREMENTS "CI / CD"): every push to main
# tests and deploys; a pull request tests only; an operator runs it by hand with a
# chosen test level; a scheduler runs the full suite daily without deploying.
#
# Identities: push-to-main and manual builds run as the deployer; pull-request and
# daily builds run as the tester, which has no deploy rights at all, because a pull
# request can rewrite cloudbuild.yaml (service_accounts.tf).
locals {
  build_substitutions = {
    _REGION           = var.region
    _AR_REPO          = google_artifact_registry_repository.images.repository_id
    _STREAM_SERVICE   = google_cloud_run_v2_service.stream.name
    _FUNCTION         = google_cloudfunctions2_function.function["notify"].name
    _PUBLISH_FUNCTION = google_cloudfunctions2_function.function["publish"].name
    _FN_RUNTIME       = var.function_runtime
    _FN_BUILD_SA      = google_service_account.function_build.account_id
  }
}

resource "google_cloudbuild_trigger" "main" {
  name            = "${local.name}-main"
  description     = "Push to main: full tests, build, deploy, smoke test"
  location        = var.region
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.deployer.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = "^main$"
    }
  }

  substitutions = merge(local.build_substitutions, { _TEST_LEVEL = "full", _DEPLOY = "true" })
}

resource "google_cloudbuild_trigger" "pull_request" {
  name            = "${local.name}-pr"
  description     = "Pull request: tests only, as the test-only account"
  location        = var.region
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.tester.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    pull_request {
      branch = "^main$"
      # A pull request from outside the repository's owners and collaborators builds
      # only after one of them comments /gcbrun on it.
      comment_control = "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
    }
  }

  substitutions = merge(local.build_substitutions, { _TEST_LEVEL = "full", _DEPLOY = "false" })
}

# Run from the console or `gcloud builds triggers run` with --substitutions
# _TEST_LEVEL=quick|full|none,_DEPLOY=true|false.
resource "google_cloudbuild_trigger" "manual" {
  name            = "${local.name}-manual"
  description     = "On demand: choose _TEST_LEVEL (quick, full, none) and _DEPLOY"
  location        = var.region
  service_account = google_service_account.deployer.id

  source_to_build {
    uri       = "https://github.com/${var.github_owner}/${var.github_repo}"
    ref       = "refs/heads/main"
    repo_type = "GITHUB"
  }

  git_file_source {
    path      = "cloudbuild.yaml"
    uri       = "https://github.com/${var.github_owner}/${var.github_repo}"
    revision  = "refs/heads/main"
    repo_type = "GITHUB"
  }

  substitutions = merge(local.build_substitutions, { _TEST_LEVEL = "quick", _DEPLOY = "false" })
}

resource "google_cloudbuild_trigger" "daily" {
  name            = "${local.name}-daily"
  description     = "Daily: the full suite on main, no deploy (run by Cloud Scheduler, as the test-only account)"
  location        = var.region
  service_account = google_service_account.tester.id

  source_to_build {
    uri       = "https://github.com/${var.github_owner}/${var.github_repo}"
    ref       = "refs/heads/main"
    repo_type = "GITHUB"
  }

  git_file_source {
    path      = "cloudbuild.yaml"
    uri       = "https://github.com/${var.github_owner}/${var.github_repo}"
    revision  = "refs/heads/main"
    repo_type = "GITHUB"
  }

  substitutions = merge(local.build_substitutions, { _TEST_LEVEL = "full", _DEPLOY = "false" })
}

# Cloud Scheduler starts the daily trigger through the Cloud Build API. Running a
# trigger requires acting as the trigger's account: the scheduler may act as the
# tester only, so it cannot start the deploying triggers.
resource "google_service_account" "scheduler" {
  account_id   = "${var.name_prefix}-sch-${var.environment}"
  display_name = "Notifications daily build scheduler"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "scheduler_runs_builds" {
  project = var.project_id
  role    = "roles/cloudbuild.builds.editor"
  member  = google_service_account.scheduler.member
}

resource "google_service_account_iam_member" "scheduler_acts_as_tester" {
  service_account_id = google_service_account.tester.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.scheduler.member
}

resource "google_cloud_scheduler_job" "daily_build" {
  name      = "${local.name}-daily-build"
  region    = var.region
  schedule  = var.daily_build_schedule
  time_zone = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://cloudbuild.googleapis.com/v1/${google_cloudbuild_trigger.daily.id}:run"
    body        = base64encode(jsonencode({ source = { branchName = "main" } }))
    headers     = { "Content-Type" = "application/json" }

    oauth_token {
      service_account_email = google_service_account.scheduler.email
    }
  }

  depends_on = [google_project_service.apis]
}

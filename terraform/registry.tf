resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = local.name
  format        = "DOCKER"
  description   = "Images of the notifications stream service"

  # Keep the last images for rollback; drop the rest after 30 days.
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}

# Holds the function's first source archive (make function-zip); later deploys
# come from Cloud Build.
resource "google_storage_bucket" "function_source" {
  name                        = "${var.project_id}-${local.name}-fn-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !local.is_prod
}

resource "google_storage_bucket_object" "function_bootstrap" {
  name   = "bootstrap/function.zip"
  bucket = google_storage_bucket.function_source.name
  source = var.function_source_zip

  # Only the first deploy uses this archive; Cloud Build ships every later version.
  lifecycle {
    ignore_changes = [source, detect_md5hash]
  }
}

# Where the first hand-run `gcloud builds submit --gcs-source-staging-dir` stages the
# repository (docs/DEPLOY.md). A build that runs as the deployer reads its source
# from here, so the deployer may read this bucket and no other; objects go after a week.
resource "google_storage_bucket" "build_source" {
  name                        = "${var.project_id}-${local.name}-build-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "build_source_deployer" {
  bucket = google_storage_bucket.build_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.deployer.member
}

terraform {
  required_version = ">= 1.9" # validations that refer to other variables

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.45" # tested with 7.45.0 (the offline mirror); any later 7.x
    }
  }

  # Remote state in a GCS bucket; the bucket and prefix come from
  # environments/<env>.backend.hcl (terraform init -backend-config=...).
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "vividly-notifications"
    environment = var.environment
  }
}

data "google_project" "this" {}

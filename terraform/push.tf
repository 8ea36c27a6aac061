# Web Push (issue 17): the stream service sends pushes to students with no open tab.
# The VAPID public key and subject are public configuration; the private key is a
# secret whose value is added out of band (docs/DEPLOY.md, docs/RUNBOOK.md "Rotating
# the VAPID keys"), like the JWT secret. With no public key set, push stays off.

variable "vapid_public_key" {
  description = "VAPID public key, base64url of the raw 65-byte P-256 point (go run ./stream/internal/webpush/vapidkeys); empty turns Web Push off."
  type        = string
  default     = ""
  validation {
    condition     = var.vapid_public_key == "" || can(regex("^B[A-Za-z0-9_-]{86}$", var.vapid_public_key))
    error_message = "vapid_public_key must be empty or the base64url (no padding) of an uncompressed P-256 point: 87 characters starting with B."
  }
}

variable "vapid_subject" {
  description = "VAPID subject (RFC 8292): a mailto: address or https URL where push services can reach the operator. Required with vapid_public_key."
  type        = string
  default     = ""
  validation {
    condition     = var.vapid_subject == "" || can(regex("^(mailto:[^@\\s]+@[^@\\s]+|https://\\S+)$", var.vapid_subject))
    error_message = "vapid_subject must be a mailto: address or an https:// URL."
  }
  validation {
    condition     = (var.vapid_subject == "") == (var.vapid_public_key == "")
    error_message = "vapid_subject and vapid_public_key are set together (both empty: Web Push off)."
  }
}

variable "vapid_private_key_version" {
  description = "Version number of the vapid-private-key secret that holds the current private key (never latest: a new version is picked up by the plan that rolls a new revision, not by whichever instance starts next). Required with vapid_public_key."
  type        = string
  default     = ""
  validation {
    condition     = var.vapid_private_key_version == "" || can(regex("^[1-9][0-9]*$", var.vapid_private_key_version))
    error_message = "vapid_private_key_version must be empty or a secret version number (not latest)."
  }
  validation {
    condition     = (var.vapid_private_key_version == "") == (var.vapid_public_key == "")
    error_message = "vapid_private_key_version and vapid_public_key are set together: the version of the vapid-private-key secret that matches the public key."
  }
}

# Key rotation (docs/RUNBOOK.md, "Rotating the VAPID keys"): a browser subscription is
# bound to the public key it was made with, so for a while the stream signs each push
# with the pair its subscription was made with. The previous private key stays in the
# same secret, as an older version.
variable "vapid_previous_public_key" {
  description = "During a VAPID key rotation: the public key being rotated out (empty otherwise)."
  type        = string
  default     = ""
  validation {
    condition     = var.vapid_previous_public_key == "" || can(regex("^B[A-Za-z0-9_-]{86}$", var.vapid_previous_public_key))
    error_message = "vapid_previous_public_key must be empty or an 87-character base64url P-256 point starting with B."
  }
  validation {
    condition     = var.vapid_previous_public_key == "" || var.vapid_public_key != ""
    error_message = "vapid_previous_public_key needs vapid_public_key (the key rotated to)."
  }
}

variable "vapid_previous_private_key_version" {
  description = "During a VAPID key rotation: the version number of the vapid-private-key secret that holds the previous private key."
  type        = string
  default     = ""
  validation {
    condition     = var.vapid_previous_private_key_version == "" || can(regex("^[1-9][0-9]*$", var.vapid_previous_private_key_version))
    error_message = "vapid_previous_private_key_version must be empty or a secret version number (not latest)."
  }
  validation {
    condition     = (var.vapid_previous_private_key_version == "") == (var.vapid_previous_public_key == "")
    error_message = "vapid_previous_public_key and vapid_previous_private_key_version are set together."
  }
}

locals {
  push_enabled  = var.vapid_public_key != ""
  push_rotating = local.push_enabled && var.vapid_previous_public_key != ""
  push_env = merge(
    local.push_enabled ? { VAPID_PUBLIC_KEY = var.vapid_public_key, VAPID_SUBJECT = var.vapid_subject } : {},
    local.push_rotating ? { VAPID_PREVIOUS_PUBLIC_KEY = var.vapid_previous_public_key } : {},
  )
}

resource "google_secret_manager_secret" "vapid" {
  count     = local.push_enabled ? 1 : 0
  secret_id = "${local.name}-vapid-private-key"

  replication {
    user_managed {
      replicas {
        location = var.region # in-region only (secrets.tf says why)
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# Only the stream service signs pushes, so only its account may read the key.
resource "google_secret_manager_secret_iam_member" "vapid_stream" {
  count     = local.push_enabled ? 1 : 0
  secret_id = google_secret_manager_secret.vapid[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.stream.member
}

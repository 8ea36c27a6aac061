# Mobile push through Firebase Cloud Messaging (issue 26): the stream service sends each
# push as one FCM HTTP v1 request (projects/{FCM_PROJECT_ID}/messages:send) with the
# stream account's Application Default Credentials. FCM_PROJECT_ID turns the sender on.
# The project must also be a Firebase project, which the GA provider cannot make it
# (google_firebase_project is google-beta only): docs/DEPLOY.md, "Mobile push (FCM)".

variable "fcm_enabled" {
  description = "Send push notifications to Android/iOS apps through Firebase Cloud Messaging from this project (which must be a Firebase project, docs/DEPLOY.md). Off: no FCM API, role or FCM_PROJECT_ID."
  type        = bool
  default     = false
}

locals {
  fcm_env = var.fcm_enabled ? { FCM_PROJECT_ID = var.project_id } : {}
  # The functions queue a notification for push when any sender will take it: Web Push
  # and FCM share one queue and one decision path (offline only, preferences, expiry).
  push_queue = local.push_enabled || var.fcm_enabled
}

# The narrowest grant that lets the stream send: a custom role with the single
# permission messages:send checks. Custom roles may hold it: it is the documented
# alternative to roles/firebasecloudmessaging.admin (docs/DEPLOY.md has the evidence and
# the gcloud check); that predefined role would also let the account manage FCM's
# settings. Role IDs allow letters, digits, _ and . only, hence the replace.
resource "google_project_iam_custom_role" "fcm_sender" {
  count = var.fcm_enabled ? 1 : 0

  role_id     = "${replace(local.name, "-", "_")}_fcm_sender"
  title       = "${local.name} FCM sender"
  description = "Send FCM messages (HTTP v1 messages:send) and nothing else."
  permissions = ["cloudmessaging.messages.create"]
  stage       = "GA"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "stream_fcm_sender" {
  count = var.fcm_enabled ? 1 : 0

  project = var.project_id
  role    = google_project_iam_custom_role.fcm_sender[0].name
  member  = google_service_account.stream.member
}

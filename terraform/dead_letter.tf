# Events the function still fails after dead_letter_max_attempts deliveries land here
# (without the policy, Pub/Sub would retry them until the trigger subscription's
# retention expired and then drop them). The topic has its own subscription, or
# Pub/Sub would discard what it forwards (a topic without subscribers keeps nothing).
resource "google_pubsub_topic" "dead_letter" {
  name                       = "${local.name}-notify-dead-letter"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${local.name}-notify-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s" # 7 days to inspect and replay (docs/RUNBOOK.md)
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = "" # never expires for lack of pulls
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

# Eventarc creates the function's push subscription and Terraform can only read its
# name, so the dead-letter policy (and the service agent's subscriber role the policy
# needs on it) is attached with gcloud. It re-runs whenever the trigger is recreated
# or the policy's inputs change.
resource "terraform_data" "dead_letter_policy" {
  triggers_replace = [
    google_cloudfunctions2_function.notify.event_trigger[0].trigger,
    google_pubsub_topic.dead_letter.id,
    var.dead_letter_max_attempts,
  ]

  provisioner "local-exec" {
    command = "${path.module}/scripts/attach-dead-letter.sh"
    environment = {
      TRIGGER       = google_cloudfunctions2_function.notify.event_trigger[0].trigger
      DEAD_LETTER   = google_pubsub_topic.dead_letter.id
      MAX_ATTEMPTS  = tostring(var.dead_letter_max_attempts)
      PUBSUB_MEMBER = local.pubsub_agent
    }
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Events a function still fails after dead_letter_max_attempts deliveries land in its
# own dead-letter topic (without the policy, Pub/Sub would retry them until the trigger
# subscription's retention expired and then drop them). One set per function
# (function.tf's local.functions: notify, publish), named after it. Each topic has its
# own subscription, or Pub/Sub would discard what it forwards (a topic without
# subscribers keeps nothing).
resource "google_pubsub_topic" "dead_letter" {
  for_each = local.functions

  name                       = "${local.name}-${each.key}-dead-letter"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each = local.functions

  name                       = "${local.name}-${each.key}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  message_retention_duration = "604800s" # 7 days to inspect and replay (docs/RUNBOOK.md)
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = "" # never expires for lack of pulls
  }
}

# The Pub/Sub service agent publishes what it forwards.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.functions

  topic  = google_pubsub_topic.dead_letter[each.key].id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

# Eventarc creates each function's push subscription and Terraform can only read its
# name, so the dead-letter policy (and the service agent's subscriber role the policy
# needs on it) is attached with gcloud. It re-runs whenever the trigger is recreated
# or the policy's inputs change.
resource "terraform_data" "dead_letter_policy" {
  for_each = local.functions

  triggers_replace = [
    google_cloudfunctions2_function.function[each.key].event_trigger[0].trigger,
    google_pubsub_topic.dead_letter[each.key].id,
    var.dead_letter_max_attempts,
  ]

  provisioner "local-exec" {
    command = "${path.module}/scripts/attach-dead-letter.sh"
    environment = {
      TRIGGER       = google_cloudfunctions2_function.function[each.key].event_trigger[0].trigger
      DEAD_LETTER   = google_pubsub_topic.dead_letter[each.key].id
      MAX_ATTEMPTS  = tostring(var.dead_letter_max_attempts)
      PUBSUB_MEMBER = local.pubsub_agent
    }
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Notify's dead letters were these resources without a key, Publish's were publish.tf's
# publish_dead_letter*.
moved {
  from = google_pubsub_topic.dead_letter
  to   = google_pubsub_topic.dead_letter["notify"]
}

moved {
  from = google_pubsub_subscription.dead_letter
  to   = google_pubsub_subscription.dead_letter["notify"]
}

moved {
  from = google_pubsub_topic_iam_member.dead_letter_publisher
  to   = google_pubsub_topic_iam_member.dead_letter_publisher["notify"]
}

moved {
  from = terraform_data.dead_letter_policy
  to   = terraform_data.dead_letter_policy["notify"]
}

moved {
  from = google_pubsub_topic.publish_dead_letter
  to   = google_pubsub_topic.dead_letter["publish"]
}

moved {
  from = google_pubsub_subscription.publish_dead_letter
  to   = google_pubsub_subscription.dead_letter["publish"]
}

moved {
  from = google_pubsub_topic_iam_member.publish_dead_letter_publisher
  to   = google_pubsub_topic_iam_member.dead_letter_publisher["publish"]
}

moved {
  from = terraform_data.publish_dead_letter_policy
  to   = terraform_data.dead_letter_policy["publish"]
}

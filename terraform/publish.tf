# Notifications from any service (docs/PROTOCOL.md, "Input 2: notifications from any service"):
# other services publish to the notifications topic, and the second entry point of the
# function source, Publish, consumes it through its own Eventarc trigger. The function
# itself is google_cloudfunctions2_function.function["publish"] (function.tf), its dead
# letters are in dead_letter.tf; this file holds the topic, its publishers and the
# trigger's identity.

# Created here, unlike the content-job topic. Other services publish to it, so prod
# refuses to delete it (a recreated topic would detach the trigger's subscription).
resource "google_pubsub_topic" "notifications" {
  name            = var.notifications_topic
  deletion_policy = local.is_prod ? "PREVENT" : "DELETE"

  depends_on = [google_project_service.apis]
}

# Only the named publishers may publish, each with one binding on this topic alone.
# Member bindings, not a topic policy: a policy would replace every other binding on the
# topic (Eventarc's, an operator's), and one publisher can be added or removed without
# touching the others. Nothing in this configuration grants publish on it otherwise
# (project-level Owner, Editor and Pub/Sub roles still do: docs/DEPLOY.md).
resource "google_pubsub_topic_iam_member" "notifications_publisher" {
  for_each = toset(var.notification_publishers)
  topic    = google_pubsub_topic.notifications.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${each.value}"
}

# Eventarc's identity for the Publish trigger: may invoke the Publish function and
# nothing else. A trigger account of its own rather than Notify's, so neither trigger's
# push identity can invoke the other function.
#
# The runtime account, though, is Notify's (google_service_account.function): Publish
# needs exactly what Notify has (read the Redis secrets, write logs and metrics) and
# nothing more, so a second account would hold the same grants and add only a second
# set of bindings to keep in step (and another account for the deployer to act as).
resource "google_service_account" "publish_trigger" {
  account_id   = "${var.name_prefix}-ptrg-${var.environment}"
  display_name = "Notifications Publish trigger (Eventarc)"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "publish_trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.publish_trigger.member
}

# Notifications from any service (DESIGN.md, "Input: notifications from any service"):
# other services publish to the notifications topic, and the second entry point of the
# function source, Publish, consumes it through its own Eventarc trigger. Like Notify
# (function.tf), Terraform owns the trigger, identity and settings; code ships with
# `gcloud functions deploy --source`.

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

# The same source, build account, runtime account, Redis secrets and connector as
# Notify; only the entry point, the trigger and its identity differ.
resource "google_cloudfunctions2_function" "publish" {
  name     = "${local.name}-publish"
  location = var.region

  build_config {
    runtime         = var.function_runtime
    entry_point     = "Publish"
    service_account = google_service_account.function_build.id
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_bootstrap.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.function.email
    available_memory      = "256Mi"
    available_cpu         = "1"
    # 32 events at a time per instance, for Notify's reason (function.tf): Publish is an
    # HTTP entry point of the same source parsing each CloudEvent in its own request
    # goroutine, so the SDK's receive-path wedge cannot happen here either. The
    # throughput behind 32 was measured for Notify (docs/PERFORMANCE.md); an event for a
    # list of up to 1000 users costs more Redis work than a job event, so measure
    # Publish before raising it.
    max_instance_request_concurrency = 32
    min_instance_count               = var.function_min_instances
    max_instance_count               = var.function_max_instances
    timeout_seconds                  = 60
    ingress_settings                 = "ALLOW_INTERNAL_ONLY" # only Eventarc calls it
    all_traffic_on_latest_revision   = true

    vpc_connector                 = google_vpc_access_connector.main.id
    vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"

    environment_variables = local.function_env

    secret_environment_variables {
      key        = "REDIS_ADDR"
      project_id = var.project_id
      secret     = google_secret_manager_secret.redis["redis-addr"].secret_id
      version    = "latest"
    }

    dynamic "secret_environment_variables" {
      for_each = var.redis_auth_enabled ? [1] : []
      content {
        key        = "REDIS_PASSWORD"
        project_id = var.project_id
        secret     = google_secret_manager_secret.redis["redis-auth"].secret_id
        version    = "latest"
      }
    }

    dynamic "secret_volumes" {
      for_each = local.redis_tls ? [1] : []
      content {
        mount_path = local.redis_ca_dir
        project_id = var.project_id
        secret     = google_secret_manager_secret.redis["redis-ca"].secret_id
        versions {
          version = "latest"
          path    = local.redis_ca_file
        }
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.notifications.id
    service_account_email = google_service_account.publish_trigger.email
    # As Notify's: refused input is acknowledged by the function (2xx), so only
    # transient failures (Redis down) are retried.
    retry_policy = "RETRY_POLICY_RETRY"
  }

  lifecycle {
    ignore_changes = [
      build_config[0].source, # Cloud Build deploys code
      build_config[0].docker_repository,
      labels,
    ]
  }

  depends_on = [
    google_secret_manager_secret_version.redis,
    google_secret_manager_secret_iam_member.redis_function,
    google_project_iam_member.publish_trigger_event_receiver,
    google_project_iam_member.function_build,
    google_project_iam_member.function_build_source,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "publish_trigger_invokes_function" {
  name     = google_cloudfunctions2_function.publish.name
  location = var.region
  role     = "roles/run.invoker"
  member   = google_service_account.publish_trigger.member
}

# Dead letters of the Publish trigger, as Notify's (dead_letter.tf): the same number of
# attempts, a subscription that keeps them 7 days, publish on the dead-letter topic for
# the Pub/Sub service agent, and the policy (with the agent's subscriber role on the
# trigger's subscription) attached by the same script.
resource "google_pubsub_topic" "publish_dead_letter" {
  name                       = "${local.name}-publish-dead-letter"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "publish_dead_letter" {
  name                       = "${local.name}-publish-dead-letter"
  topic                      = google_pubsub_topic.publish_dead_letter.id
  message_retention_duration = "604800s" # 7 days to inspect and replay (docs/RUNBOOK.md)
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = "" # never expires for lack of pulls
  }
}

resource "google_pubsub_topic_iam_member" "publish_dead_letter_publisher" {
  topic  = google_pubsub_topic.publish_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "terraform_data" "publish_dead_letter_policy" {
  triggers_replace = [
    google_cloudfunctions2_function.publish.event_trigger[0].trigger,
    google_pubsub_topic.publish_dead_letter.id,
    var.dead_letter_max_attempts,
  ]

  provisioner "local-exec" {
    command = "${path.module}/scripts/attach-dead-letter.sh"
    environment = {
      TRIGGER       = google_cloudfunctions2_function.publish.event_trigger[0].trigger
      DEAD_LETTER   = google_pubsub_topic.publish_dead_letter.id
      MAX_ATTEMPTS  = tostring(var.dead_letter_max_attempts)
      PUBSUB_MEMBER = local.pubsub_agent
    }
  }

  depends_on = [google_pubsub_topic_iam_member.publish_dead_letter_publisher]
}

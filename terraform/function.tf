# The function source has two entry points, deployed as two functions from the one
# resource below: Notify, triggered through Eventarc by the existing content-job topic
# (var.content_job_topic; this configuration never creates or changes it), and Publish,
# triggered by the notifications topic other services publish to (publish.tf). Both run
# with the same source, build account, runtime account, Redis secrets, connector and
# settings; only the entry point, the trigger's topic and the trigger's identity differ.
# Terraform owns the triggers, identities and settings; Cloud Build ships new code with
# `gcloud functions deploy --source`, which leaves everything else as it is.
locals {
  function_env = merge(
    {
      GOOGLE_CLOUD_PROJECT = var.project_id
      LOG_LEVEL            = var.log_level
    },
    local.redis_tls ? { REDIS_TLS_CA = "${local.redis_ca_dir}/${local.redis_ca_file}" } : {},
    local.redis_mode_env,
    # Queue new notifications for push only when the stream service sends them (Web
    # Push, FCM, or both: fcm.tf).
    local.push_queue ? { PUSH_ENABLED = "true" } : {},
  )

  # One function per entry point. The key is the function's name suffix
  # ("${local.name}-notify") and its instance key in the state (the moved blocks below,
  # and the dead letters' in dead_letter.tf); each trigger has an identity of its own
  # (service_accounts.tf, publish.tf), so neither can invoke the other function.
  functions = {
    notify = {
      entry_point = "Notify"
      topic       = var.content_job_topic
      trigger_sa  = google_service_account.trigger
    }
    publish = {
      entry_point = "Publish"
      topic       = google_pubsub_topic.notifications.id
      trigger_sa  = google_service_account.publish_trigger
    }
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name     = "${local.name}-${each.key}"
  location = var.region

  build_config {
    runtime     = var.function_runtime
    entry_point = each.value.entry_point
    # Builds run as their own account (service_accounts.tf), not the project's default
    # Cloud Build or Compute account. cloudbuild.yaml passes the same account to
    # `gcloud functions deploy --build-service-account`.
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
    # Up to 32 events at a time per instance. Each entry point is an HTTP function that
    # parses each CloudEvent in its own request goroutine with the SDK's HTTP binding,
    # not the Functions Framework's CloudEvent path, which wedged under concurrent
    # requests with cancelled clients (cloudevents/sdk-go#1224, #1332). Measured
    # (docs/PERFORMANCE.md): 3 x 100,000 requests at 32 in flight, 1 in 20 cancelled
    # mid-request, 0 unanswered (the old path: 7 of 100,000 hung); one process at
    # GOMAXPROCS 1 answers 6,000-8,000 events/s at 8 in flight, against ~2,400/s one at
    # a time, so one instance absorbs a burst that needed several before. That was
    # measured for Notify; a Publish event for a list of up to 1000 users costs more
    # Redis work than a job event, so measure Publish before raising it.
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
      version    = google_secret_manager_secret_version.redis["redis-addr"].version
    }

    dynamic "secret_environment_variables" {
      for_each = local.redis_auth_string ? [1] : []
      content {
        key        = "REDIS_PASSWORD"
        project_id = var.project_id
        secret     = google_secret_manager_secret.redis["redis-auth"].secret_id
        version    = google_secret_manager_secret_version.redis["redis-auth"].version
      }
    }

    dynamic "secret_volumes" {
      for_each = local.redis_tls ? [1] : []
      content {
        mount_path = local.redis_ca_dir
        project_id = var.project_id
        secret     = google_secret_manager_secret.redis["redis-ca"].secret_id
        versions {
          version = google_secret_manager_secret_version.redis["redis-ca"].version
          path    = local.redis_ca_file
        }
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = each.value.topic
    service_account_email = each.value.trigger_sa.email
    # Off by default for functions created through the API: a Redis outage would
    # otherwise lose every event it spans. Permanent errors are acknowledged by the
    # function itself (2xx), so only transient failures are retried.
    retry_policy = "RETRY_POLICY_RETRY"
  }

  lifecycle {
    ignore_changes = [
      build_config[0].source, # Cloud Build deploys code
      build_config[0].docker_repository,
      labels,
    ]
  }

  # Static for every instance, so each function waits for both triggers' receiver grants.
  depends_on = [
    google_secret_manager_secret_version.redis,
    google_secret_manager_secret_iam_member.redis_function,
    google_project_iam_member.trigger_event_receiver,
    google_project_iam_member.publish_trigger_event_receiver,
    google_project_iam_member.function_build,
    google_project_iam_member.function_build_source,
  ]
}

# Each trigger's identity may invoke its own function's service, and nobody else is
# granted invoker: there is no public invoker binding.
resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_function" {
  for_each = local.functions

  name     = google_cloudfunctions2_function.function[each.key].name
  location = var.region
  role     = "roles/run.invoker"
  member   = each.value.trigger_sa.member
}

# The functions were two resources (Publish's in publish.tf) before they were one.
moved {
  from = google_cloudfunctions2_function.notify
  to   = google_cloudfunctions2_function.function["notify"]
}

moved {
  from = google_cloudfunctions2_function.publish
  to   = google_cloudfunctions2_function.function["publish"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.trigger_invokes_function
  to   = google_cloud_run_v2_service_iam_member.trigger_invokes_function["notify"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.publish_trigger_invokes_function
  to   = google_cloud_run_v2_service_iam_member.trigger_invokes_function["publish"]
}

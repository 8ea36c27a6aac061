# What a first apply into a fresh project needs beyond a valid plan (issue 31), planned
# from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/first_apply.tftest.hcl ...
# A dependency is proven by planning its dependant alone (-target): the plan holds
# exactly what the target depends on, so a missing edge makes the reference to the
# dependency fail the run.

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  vapid_public_key          = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
  vapid_subject             = "mailto:ops@vividly.example"
  vapid_private_key_version = "4"
}

# Item 1: Cloud Run refuses a revision whose account cannot read one of its secrets.
run "stream_waits_for_every_secret_grant" {
  command = plan
  plan_options {
    target = [google_cloud_run_v2_service.stream]
  }
  assert {
    condition     = google_secret_manager_secret_iam_member.vapid_stream[0].member == google_service_account.stream.member
    error_message = "the stream service must depend on the VAPID secret's grant, not only on the secret"
  }
  assert {
    condition     = google_secret_manager_secret_iam_member.metrics_config_stream.member == google_service_account.stream.member && length(google_secret_manager_secret_iam_member.redis_stream) == 3
    error_message = "the stream service must depend on the Redis and metrics-config grants"
  }
}

# Item 2: the dev connector's name fits Serverless VPC Access's rule as it is.
run "connector_name_fits" {
  command = plan
  assert {
    condition     = google_vpc_access_connector.main.name == "vividly-notify-dev" && length(google_vpc_access_connector.main.name) + length(regexall("-", google_vpc_access_connector.main.name)) < 21
    error_message = "dev keeps its connector name, under 21 characters with hyphens counted twice"
  }
  assert {
    condition     = contains(google_compute_firewall.redis_egress_allow.target_tags, "vpc-connector-us-central1-vividly-notify-dev")
    error_message = "the Redis egress rule admits the connector by its real name"
  }
}

# Item 5: no secret is replicated outside the region.
run "secrets_stay_in_the_region" {
  command = plan
  assert {
    condition = alltrue([for s in concat(values(google_secret_manager_secret.redis), google_secret_manager_secret.jwt, google_secret_manager_secret.vapid, [google_secret_manager_secret.metrics_config]) :
      length(s.replication[0].auto) == 0 && [for r in s.replication[0].user_managed[0].replicas : r.location] == ["us-central1"]
    ])
    error_message = "every secret must be user-managed, replicated in us-central1 only"
  }
  assert {
    condition     = length(google_secret_manager_secret.redis) + length(google_secret_manager_secret.jwt) + length(google_secret_manager_secret.vapid) == 5
    error_message = "the check above must cover the three Redis secrets, the JWT secret and the VAPID key"
  }
}

# Item 6: second generation, a sidecar CPU Cloud Run accepts, and an alert when the
# metrics stop arriving.
run "metrics_reach_monitoring" {
  command = plan
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].execution_environment == "EXECUTION_ENVIRONMENT_GEN2"
    error_message = "the stream must run on the second generation, where the sidecar reaches its loopback metrics port"
  }
  assert {
    condition     = alltrue([for c in google_cloud_run_v2_service.stream.template[0].containers : can(regex("^[1-8]$", c.resources[0].limits.cpu))])
    error_message = "every container needs a whole vCPU: below 1, Cloud Run wants request-based billing, concurrency 1 and the first generation"
  }
  assert {
    condition     = startswith(google_monitoring_alert_policy.stream_metrics_absent.conditions[0].condition_prometheus_query_language[0].query, "absent(sse_active_connections) and on() (sum(run_googleapis_com:container_instance_count{") && strcontains(google_monitoring_alert_policy.stream_metrics_absent.conditions[0].condition_prometheus_query_language[0].query, "service_name=\"vividly-notify-dev-stream\"")
    error_message = "an alert must fire when this stream service runs but its metrics are absent"
  }
}

# Item 10: log-based metrics need the Logging API, enabled before them.
run "logging_api_before_log_metrics" {
  command = plan
  plan_options {
    target = [google_logging_metric.rejected_events, google_logging_metric.rejected_notifications]
  }
  assert {
    condition     = google_project_service.apis["logging.googleapis.com"].service == "logging.googleapis.com"
    error_message = "the log-based metrics must wait for logging.googleapis.com"
  }
}

# Item 11: the private key is a pinned version, so instances started later by the old
# revision keep the key that matches its public key.
run "vapid_key_version_pinned" {
  command = plan
  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value_source[0].secret_key_ref[0].version if e.name == "VAPID_PRIVATE_KEY"]) == "4"
    error_message = "VAPID_PRIVATE_KEY must be the pinned version, never latest"
  }
}

run "vapid_key_version_required" {
  command = plan
  variables {
    vapid_private_key_version = ""
  }
  expect_failures = [var.vapid_private_key_version]
}

run "vapid_key_version_not_latest" {
  command = plan
  variables {
    vapid_private_key_version = "latest"
  }
  expect_failures = [var.vapid_private_key_version]
}

# Item 16 (and 9): the services name the Redis secrets' versions, so a new AUTH string or
# CA bundle written by Terraform rolls new revisions, with no label change to revert.
run "redis_secrets_pinned" {
  command = plan
  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value_source[0].secret_key_ref[0].version if e.name == "REDIS_ADDR"]) == "7"
    error_message = "the stream must name the REDIS_ADDR secret's version, not latest"
  }
  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.function : one([for v in f.service_config[0].secret_environment_variables : v.version if v.key == "REDIS_ADDR"]) == "7"])
    error_message = "both functions must name the REDIS_ADDR secret's version, not latest"
  }
}

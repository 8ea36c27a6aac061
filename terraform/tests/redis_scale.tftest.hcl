# Redis scaling (redis_scale.tf), planned from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/redis_scale.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "off_by_default" {
  command = plan

  assert {
    condition     = length(google_cloudfunctions2_function.redis_scale) == 0 && length(google_monitoring_alert_policy.redis_scale) == 0 && length(google_pubsub_topic.redis_scale) == 0 && length(google_project_iam_custom_role.redis_scaler) == 0
    error_message = "redis_autoscale_max = 0 creates nothing"
  }
}

run "standalone_grows_memory" {
  command = plan
  variables {
    redis_autoscale_max  = 4
    redis_autoscale_step = 1
  }

  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables == tomap({ GOOGLE_CLOUD_PROJECT = "vividly-dev", LOG_LEVEL = "debug", SCALE_RESOURCE = "projects/test-project/locations/us-central1/instances/test-redis", SCALE_MIN = "1", SCALE_MAX = "4", SCALE_STEP = "1" })
    error_message = "the function scales this instance from its size (the floor) up to the ceiling"
  }
  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].build_config[0].entry_point == "RedisScale" && google_cloudfunctions2_function.redis_scale[0].build_config[0].service_account == google_service_account.function_build.id && google_cloudfunctions2_function.redis_scale[0].service_config[0].service_account_email == "redis-scale@test-project.iam.gserviceaccount.com"
    error_message = "RedisScale entry point, built like the others, running as its own account"
  }
  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].service_config[0].max_instance_count == 1 && google_cloudfunctions2_function.redis_scale[0].service_config[0].max_instance_request_concurrency == 1 && google_cloudfunctions2_function.redis_scale[0].service_config[0].vpc_connector == null
    error_message = "one scaler at a time, and no VPC access (it calls the API, not Redis)"
  }
  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].event_trigger[0].pubsub_topic == "projects/test-project/topics/test-redis-scale" && google_cloudfunctions2_function.redis_scale[0].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY" && google_cloudfunctions2_function.redis_scale[0].event_trigger[0].service_account_email == "redis-scale-trigger@test-project.iam.gserviceaccount.com"
    error_message = "triggered by the scaling topic, with retries, as its own trigger identity"
  }
  assert {
    condition     = google_project_iam_custom_role.redis_scaler[0].permissions == toset(["redis.instances.get", "redis.instances.update"])
    error_message = "the narrowest grant: read and update instances, nothing else"
  }
  assert {
    condition     = { for k, m in google_project_iam_member.redis_scale : k => [m.role, m.member] } == { scaler = ["projects/test-project/roles/test_redis_scaler", "serviceAccount:redis-scale@test-project.iam.gserviceaccount.com"], logs = ["roles/logging.logWriter", "serviceAccount:redis-scale@test-project.iam.gserviceaccount.com"] }
    error_message = "the scaler's account gets the custom role and log writing only"
  }
  assert {
    condition     = google_cloud_run_v2_service_iam_member.redis_scale_invoker[0].member == "serviceAccount:redis-scale-trigger@test-project.iam.gserviceaccount.com" && google_cloud_run_v2_service_iam_member.redis_scale_invoker[0].role == "roles/run.invoker"
    error_message = "only the trigger identity invokes the scaler"
  }
  assert {
    condition     = google_monitoring_notification_channel.redis_scale[0].type == "pubsub" && google_monitoring_notification_channel.redis_scale[0].labels["topic"] == "projects/test-project/topics/test-redis-scale" && google_pubsub_topic_iam_member.redis_scale_monitoring[0].member == "serviceAccount:service-123456789012@gcp-sa-monitoring-notification.iam.gserviceaccount.com" && google_pubsub_topic_iam_member.redis_scale_monitoring[0].role == "roles/pubsub.publisher"
    error_message = "the alert reaches the topic through a Pub/Sub channel Cloud Monitoring's agent may publish to"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_scale[0].conditions[0].condition_threshold[0].threshold_value == 0.7 && strcontains(google_monitoring_alert_policy.redis_scale[0].conditions[0].condition_threshold[0].filter, "redis.googleapis.com/stats/memory/usage_ratio") && google_monitoring_alert_policy.redis_scale[0].notification_channels == tolist(["projects/test-project/notificationChannels/test-redis-scale"]) && google_monitoring_alert_policy.redis_scale[0].alert_strategy[0].notification_channel_strategy[0].renotify_interval == "1800s"
    error_message = "the scaling alert: instance memory above 70 % for 5 min, to the scaler's channel, repeated while still open"
  }
}

run "cluster_grows_shards" {
  command = plan
  variables {
    redis_mode                = "cluster"
    redis_cluster_shard_count = 3
    redis_autoscale_max       = 6
    redis_autoscale_step      = 1
  }

  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_RESOURCE"] == "projects/test-project/locations/us-central1/clusters/test-cluster" && google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_MIN"] == "3" && google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_MAX"] == "6"
    error_message = "in cluster mode the function scales the cluster's shards"
  }
  assert {
    condition     = google_project_iam_custom_role.redis_scaler[0].permissions == toset(["redis.clusters.get", "redis.clusters.update"])
    error_message = "cluster mode: read and update clusters only"
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.redis_scale[0].conditions[0].condition_threshold[0].filter, "redis.googleapis.com/cluster/memory/maximum_utilization")
    error_message = "the cluster's scaling alert watches its fullest node"
  }
}

run "ceiling_must_exceed_start" {
  command = plan
  variables {
    redis_autoscale_max = 1 # dev's instance is already 1 GB
  }
  expect_failures = [var.redis_autoscale_max]
}

run "threshold_below_the_human_alert" {
  command = plan
  variables {
    redis_autoscale_max       = 4
    redis_autoscale_threshold = 0.8
  }
  expect_failures = [var.redis_autoscale_threshold]
}

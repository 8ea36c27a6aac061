# Values the real provider knows only after apply, made known at plan time
# (override_during = plan in each test's mock_provider) so the tests can follow
# references: which account runs or builds what, which connector and subnet the
# services use, and the Redis instance the alerts and the dashboard filter on. Each
# resource gets its own value, so an assertion that names the wrong one fails.

override_resource {
  target = google_service_account.stream
  values = {
    id     = "projects/test-project/serviceAccounts/stream@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/stream@test-project.iam.gserviceaccount.com"
    email  = "stream@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:stream@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.function
  values = {
    id     = "projects/test-project/serviceAccounts/function@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/function@test-project.iam.gserviceaccount.com"
    email  = "function@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:function@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.function_build
  values = {
    id     = "projects/test-project/serviceAccounts/function-build@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/function-build@test-project.iam.gserviceaccount.com"
    email  = "function-build@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:function-build@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.trigger
  values = {
    id     = "projects/test-project/serviceAccounts/trigger@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/trigger@test-project.iam.gserviceaccount.com"
    email  = "trigger@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:trigger@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.deployer
  values = {
    id     = "projects/test-project/serviceAccounts/deployer@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/deployer@test-project.iam.gserviceaccount.com"
    email  = "deployer@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:deployer@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.tester
  values = {
    id     = "projects/test-project/serviceAccounts/tester@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/tester@test-project.iam.gserviceaccount.com"
    email  = "tester@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:tester@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.scheduler
  values = {
    id     = "projects/test-project/serviceAccounts/scheduler@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/scheduler@test-project.iam.gserviceaccount.com"
    email  = "scheduler@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:scheduler@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_redis_instance.main[0]
  values = {
    id              = "projects/test-project/locations/us-central1/instances/test-redis"
    host            = "10.10.2.3"
    port            = 6378
    auth_string     = "test-auth-string"
    server_ca_certs = [{ cert = "-----BEGIN CERTIFICATE-----test-----END CERTIFICATE-----" }]
  }
}

override_resource {
  target = google_vpc_access_connector.main
  values = { id = "projects/test-project/locations/us-central1/connectors/test-connector" }
}

override_resource {
  target = google_compute_network.main
  values = { id = "projects/test-project/global/networks/test-network" }
}

override_resource {
  target = google_compute_subnetwork.redis
  values = { id = "projects/test-project/regions/us-central1/subnetworks/test-redis-subnet" }
}

mock_data "google_project" {
  defaults = { number = "123456789012" }
}

override_resource {
  target = google_pubsub_topic.dead_letter["notify"]
  values = { id = "projects/test-project/topics/test-dead-letter" }
}

override_resource {
  target = google_cloudbuild_trigger.daily
  values = { id = "projects/test-project/locations/us-central1/triggers/test-daily" }
}

override_resource {
  target = google_service_account.publish_trigger
  values = {
    id     = "projects/test-project/serviceAccounts/publish-trigger@test-project.iam.gserviceaccount.com"
    name   = "projects/test-project/serviceAccounts/publish-trigger@test-project.iam.gserviceaccount.com"
    email  = "publish-trigger@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:publish-trigger@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_pubsub_topic.notifications
  values = { id = "projects/test-project/topics/test-notifications" }
}

override_resource {
  target = google_pubsub_topic.dead_letter["publish"]
  values = { id = "projects/test-project/topics/test-publish-dead-letter" }
}

# The Eventarc triggers the two functions create (output only): each its own, so a
# dead-letter policy attached to the wrong one fails the tests.
override_resource {
  target = google_cloudfunctions2_function.function["notify"]
  values = { event_trigger = { trigger = "projects/test-project/locations/us-central1/triggers/test-notify" } }
}

override_resource {
  target = google_cloudfunctions2_function.function["publish"]
  values = { event_trigger = { trigger = "projects/test-project/locations/us-central1/triggers/test-publish" } }
}

override_resource {
  target = google_pubsub_subscription.dead_letter["publish"]
  values = { id = "projects/test-project/subscriptions/test-publish-dead-letter" }
}

# A secret version's number is known after apply; the services name it (not latest).
override_resource {
  target = google_secret_manager_secret_version.redis
  values = {
    version = "7"
  }
}

# Cluster mode (redis_mode = "cluster"): the discovery endpoint and the managed CA are
# known after apply; two CA certificates, as while Google rotates them.
override_resource {
  target = google_redis_cluster.main[0]
  values = {
    id                  = "projects/test-project/locations/us-central1/clusters/test-cluster"
    discovery_endpoints = [{ address = "10.10.0.5", port = 6379, psc_config = [] }]
    managed_server_ca   = [{ ca_certs = [{ certificates = ["-----BEGIN CERTIFICATE-----ca1-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----ca2-----END CERTIFICATE-----"] }] }]
  }
}

# FCM (fcm_enabled): the custom role's full name is known after apply.
override_resource {
  target = google_project_iam_custom_role.fcm_sender[0]
  values = {
    id   = "projects/test-project/roles/test_fcm_sender"
    name = "projects/test-project/roles/test_fcm_sender"
  }
}

# Redis scaling (redis_autoscale_max > 0): its accounts, topic, channel and role.
override_resource {
  target = google_service_account.redis_scale[0]
  values = {
    id     = "projects/test-project/serviceAccounts/redis-scale@test-project.iam.gserviceaccount.com"
    email  = "redis-scale@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:redis-scale@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_service_account.redis_scale_trigger[0]
  values = {
    id     = "projects/test-project/serviceAccounts/redis-scale-trigger@test-project.iam.gserviceaccount.com"
    email  = "redis-scale-trigger@test-project.iam.gserviceaccount.com"
    member = "serviceAccount:redis-scale-trigger@test-project.iam.gserviceaccount.com"
  }
}

override_resource {
  target = google_pubsub_topic.redis_scale[0]
  values = { id = "projects/test-project/topics/test-redis-scale" }
}

override_resource {
  target = google_monitoring_notification_channel.redis_scale[0]
  values = { id = "projects/test-project/notificationChannels/test-redis-scale" }
}

override_resource {
  target = google_project_iam_custom_role.redis_scaler[0]
  values = { name = "projects/test-project/roles/test_redis_scaler" }
}

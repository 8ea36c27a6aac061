# Plans dev from environments/dev.tfvars and checks the plan's numbers on the planned
# resources. scripts/terraform-check.sh runs it as
#   terraform test -var-file=environments/dev.tfvars -filter=tests/dev.tftest.hcl ...
# variants.tftest.hcl and validation.tftest.hcl start from the same file.

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "network" {
  command = plan

  assert {
    condition     = google_compute_subnetwork.redis.ip_cidr_range == "10.10.0.0/24" && google_compute_subnetwork.connector.ip_cidr_range == "10.10.1.0/28"
    error_message = "subnets must be the plan's 10.10.0.0/24 (Redis) and 10.10.1.0/28 (connector)"
  }
  assert {
    condition     = google_compute_subnetwork.redis.region == "us-central1" && google_redis_instance.main[0].region == "us-central1"
    error_message = "region must be us-central1"
  }
  assert {
    condition     = google_compute_subnetwork.redis.log_config[0].aggregation_interval == "INTERVAL_5_SEC" && google_compute_subnetwork.redis.log_config[0].flow_sampling == 0.5
    error_message = "Redis subnet flow logs must be 5 s at 50 % sampling"
  }
  assert {
    condition     = one(google_compute_firewall.redis_egress_allow.allow).ports == tolist(["6378", "6379"]) && one(google_compute_firewall.redis_egress_deny.deny).ports == tolist(["6378", "6379"])
    error_message = "the Redis egress rules must cover 6379 and Memorystore's TLS port 6378"
  }
  assert {
    condition     = google_compute_firewall.redis_egress_allow.direction == "EGRESS" && google_compute_firewall.redis_egress_deny.direction == "EGRESS" && google_compute_firewall.redis_egress_allow.destination_ranges == toset(["10.10.2.0/29"]) && google_compute_firewall.redis_egress_deny.destination_ranges == toset(["10.10.2.0/29"])
    error_message = "Redis is guarded by egress rules to Memorystore's reserved range (an ingress rule in this VPC cannot reach Memorystore)"
  }
  assert {
    condition     = google_compute_firewall.redis_egress_allow.priority < google_compute_firewall.redis_egress_deny.priority && length(coalesce(google_compute_firewall.redis_egress_deny.target_tags, [])) == 0
    error_message = "the deny rule must apply to every instance and lose to the allow rule"
  }
  assert {
    condition     = google_compute_firewall.redis_egress_allow.target_tags == toset(["vpc-connector-us-central1-vividly-notify-dev", "redis-client"])
    error_message = "only the connector's VMs and redis_client_tag may reach Redis"
  }
  assert {
    condition     = google_compute_firewall.health_checks.source_ranges == toset(["130.211.0.0/22", "35.191.0.0/16"]) && !contains(google_compute_firewall.health_checks.target_tags, "redis-client")
    error_message = "health checkers come from the plan's two ranges, to the health-check tag only"
  }
}

run "redis" {
  command = plan

  assert {
    condition     = google_redis_instance.main[0].tier == "BASIC" && google_redis_instance.main[0].memory_size_gb == 1 && google_redis_instance.main[0].redis_version == "REDIS_7_0"
    error_message = "dev Redis must be BASIC, 1 GB, Redis 7"
  }
  assert {
    condition     = google_redis_instance.main[0].connect_mode == "DIRECT_PEERING" && google_redis_instance.main[0].reserved_ip_range == "10.10.2.0/29"
    error_message = "Memorystore peers directly and takes a /29"
  }
  assert {
    condition     = google_redis_instance.main[0].redis_configs == tomap({ "maxmemory-policy" = "volatile-lru", "notify-keyspace-events" = "Ex", "timeout" = "300" })
    error_message = "redis_configs must be exactly the plan's supported parameters; Memorystore refuses maxclients"
  }
  assert {
    condition     = google_redis_instance.main[0].maintenance_policy[0].weekly_maintenance_window[0].day == "SUNDAY" && google_redis_instance.main[0].maintenance_policy[0].weekly_maintenance_window[0].start_time[0].hours == 2 && google_redis_instance.main[0].maintenance_policy[0].weekly_maintenance_window[0].start_time[0].minutes == 0
    error_message = "maintenance must be Sunday 02:00 UTC"
  }
  assert {
    condition     = google_redis_instance.main[0].auth_enabled && google_redis_instance.main[0].transit_encryption_mode == "SERVER_AUTHENTICATION" && !google_redis_instance.main[0].deletion_protection
    error_message = "dev Redis: AUTH and TLS on, deletion protection off"
  }
  assert {
    condition     = google_redis_instance.main[0].persistence_config[0].persistence_mode == "DISABLED"
    error_message = "dev runs without RDB persistence (docs/DEPLOY.md says what it loses)"
  }
  assert {
    condition     = toset(keys(google_secret_manager_secret.redis)) == toset(["redis-addr", "redis-auth", "redis-ca"])
    error_message = "with AUTH and TLS the services get the address, AUTH string and CA"
  }
}

run "connector_and_alerts" {
  command = plan

  assert {
    condition     = google_vpc_access_connector.main.machine_type == "e2-micro" && google_vpc_access_connector.main.min_instances == 2 && google_vpc_access_connector.main.max_instances == 10
    error_message = "dev connector: e2-micro, 2-10 instances"
  }
  assert {
    condition     = google_vpc_access_connector.main.subnet[0].name == google_compute_subnetwork.connector.name
    error_message = "the connector must use its /28"
  }
  assert {
    # 10 e2-micro instances carry 1000 Mbps; 80 % of it is 100,000,000 bytes/s.
    condition     = alltrue([for c in google_monitoring_alert_policy.connector_throughput.conditions : c.condition_threshold[0].threshold_value == 100000000])
    error_message = "the connector alert must fire at 80 % of 10 x 100 Mbps"
  }
  assert {
    condition     = length(google_monitoring_alert_policy.connector_throughput.conditions) == 2 && alltrue([for m in ["sent_bytes_count", "received_bytes_count"] : anytrue([for c in google_monitoring_alert_policy.connector_throughput.conditions : strcontains(c.condition_threshold[0].filter, "vpcaccess.googleapis.com/connector/${m}")])])
    error_message = "the connector alert must watch both directions"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].threshold_value == 0.8 && google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].duration == "300s"
    error_message = "Redis memory alert: above 80 % for 5 min"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_connections.conditions[0].condition_threshold[0].threshold_value == 9000 && google_monitoring_alert_policy.redis_connections.conditions[0].condition_threshold[0].duration == "300s"
    error_message = "Redis clients alert: 90 % of the 10,000 budget for 5 min"
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].filter, "projects/test-project/locations/us-central1/instances/test-redis")
    error_message = "the Redis alerts must filter on this instance"
  }
  assert {
    condition     = google_monitoring_alert_policy.dead_letter_backlog.conditions[0].condition_threshold[0].threshold_value == 0
    error_message = "any dead letter must alert"
  }
}

run "stream_service" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].max_instance_request_concurrency == 1000 && google_cloud_run_v2_service.stream.template[0].timeout == "3600s"
    error_message = "stream: 1000 streams per instance, 3600 s timeout"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].scaling[0].min_instance_count == 0 && google_cloud_run_v2_service.stream.template[0].scaling[0].max_instance_count == 10
    error_message = "dev stream scales 0-10"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].containers[0].resources[0].cpu_idle == false && google_cloud_run_v2_service.stream.template[0].containers[1].resources[0].cpu_idle == false
    error_message = "instance-based billing (cpu_idle = false) for the stream and its sidecar"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].containers[0].startup_probe[0].http_get[0].path == "/readyz" && google_cloud_run_v2_service.stream.template[0].containers[0].liveness_probe[0].http_get[0].path == "/healthz"
    error_message = "probes: startup /readyz, liveness /healthz"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.ingress == "INGRESS_TRAFFIC_ALL" && google_cloud_run_v2_service.stream.invoker_iam_disabled == true && google_cloud_run_v2_service.stream.deletion_protection == false
    error_message = "the stream is public through invoker_iam_disabled (no allUsers binding)"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].service_account == google_service_account.stream.email
    error_message = "the stream runs as its own account"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].vpc_access[0].connector == google_vpc_access_connector.main.id && google_cloud_run_v2_service.stream.template[0].vpc_access[0].egress == "PRIVATE_RANGES_ONLY" && length(google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces) == 0
    error_message = "dev stream reaches Redis through the connector"
  }
  assert {
    condition = { for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name => e.value if e.value != null } == {
      GOOGLE_CLOUD_PROJECT = "vividly-dev", LOG_LEVEL = "debug", ALLOWED_ORIGINS = "http://localhost:3000",
      MAX_CONNS            = "1000", MAX_CONNS_PER_USER = "10", TRUSTED_PROXY_HOPS = "1", MAX_CONN_AGE = "55m",
      METRICS_ADDR         = "127.0.0.1:9090", REDIS_TLS_CA = "/secrets/redis-ca/ca.pem",
    }
    error_message = "stream environment differs from the plan"
  }
  assert {
    condition     = toset([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name if e.value == null]) == toset(["REDIS_ADDR", "REDIS_PASSWORD", "JWT_SECRET"])
    error_message = "REDIS_ADDR, REDIS_PASSWORD and JWT_SECRET come from Secret Manager"
  }
}

run "metrics_off_the_public_port" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].containers[0].ports[0].container_port == 8080 && length(google_cloud_run_v2_service.stream.template[0].containers[1].ports) == 0
    error_message = "only the stream container's 8080 receives requests"
  }
  assert {
    condition     = yamldecode(local.metrics_scrape_config).spec.endpoints == [{ port = "9090", path = "/metrics", interval = "30s" }] && yamldecode(local.metrics_scrape_config).kind == "RunMonitoring"
    error_message = "the sidecar must scrape the loopback metrics port 9090 and nothing else"
  }
  assert {
    condition     = nonsensitive(google_secret_manager_secret_version.metrics_config.secret_data) == local.metrics_scrape_config
    error_message = "the scrape config secret must hold the RunMonitoring document"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].containers[1].name == "metrics" && google_cloud_run_v2_service.stream.template[0].containers[1].volume_mounts[0].mount_path == "/etc/rungmp"
    error_message = "the sidecar reads its config from /etc/rungmp/config.yaml"
  }
  assert {
    condition     = one([for v in google_cloud_run_v2_service.stream.template[0].volumes : v.secret[0] if v.name == "rungmp-config"]).secret == google_secret_manager_secret.metrics_config.secret_id && one([for v in google_cloud_run_v2_service.stream.template[0].volumes : v.secret[0] if v.name == "rungmp-config"]).items[0].path == "config.yaml"
    error_message = "the rungmp-config volume must carry the scrape config as config.yaml"
  }
}

run "function" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.function["notify"].build_config[0].runtime == "go126" && google_cloudfunctions2_function.function["notify"].build_config[0].entry_point == "Notify"
    error_message = "function: go126, entry point Notify"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].build_config[0].service_account == google_service_account.function_build.id
    error_message = "the function must build as its own build account, not the project default"
  }
  assert {
    condition     = toset(keys(google_project_iam_member.function_build)) == toset(["roles/artifactregistry.writer", "roles/logging.logWriter"]) && google_project_iam_member.function_build_source.role == "roles/storage.objectViewer"
    error_message = "the build account gets Artifact Registry writer, Logs Writer and Storage Object Viewer only"
  }
  assert {
    condition     = strcontains(google_project_iam_member.function_build_source.condition[0].expression, "projects/_/buckets/vividly-dev-vividly-notify-dev-fn-src") && strcontains(google_project_iam_member.function_build_source.condition[0].expression, "projects/_/buckets/gcf-v2-sources-123456789012-us-central1")
    error_message = "the build account reads only the two function source buckets"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].service_config[0].max_instance_request_concurrency == 32 && google_cloudfunctions2_function.function["notify"].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY"
    error_message = "function: up to 32 events at a time (the concurrency the soak proves), internal ingress"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].service_config[0].service_account_email == google_service_account.function.email && google_cloudfunctions2_function.function["notify"].service_config[0].vpc_connector == google_vpc_access_connector.main.id
    error_message = "the function runs as its own account through the connector"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY" && google_cloudfunctions2_function.function["notify"].event_trigger[0].event_type == "google.cloud.pubsub.topic.v1.messagePublished" && google_cloudfunctions2_function.function["notify"].event_trigger[0].pubsub_topic == "projects/vividly-dev/topics/content-job-finished"
    error_message = "the trigger must retry and listen to the existing content-job topic"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].event_trigger[0].service_account_email == google_service_account.trigger.email && google_cloud_run_v2_service_iam_member.trigger_invokes_function["notify"].member == google_service_account.trigger.member
    error_message = "only the trigger's account invokes the function"
  }
  assert {
    condition     = google_pubsub_subscription.dead_letter["notify"].topic == google_pubsub_topic.dead_letter["notify"].id && google_pubsub_subscription.dead_letter["notify"].message_retention_duration == "604800s"
    error_message = "the dead-letter topic keeps what it receives for 7 days"
  }
}

# The Publish entry point (function.tf, publish.tf): the same source and settings as
# Notify, its own trigger on the notifications topic with its own dead-letter topic, and
# publish rights for the named service accounts only.
run "publish_function" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.function["publish"].build_config[0].entry_point == "Publish" && google_cloudfunctions2_function.function["publish"].name == "vividly-notify-dev-publish"
    error_message = "the second function must run the entry point Publish"
  }
  assert {
    condition = (
      google_cloudfunctions2_function.function["publish"].build_config[0].source[0].storage_source[0].bucket == google_cloudfunctions2_function.function["notify"].build_config[0].source[0].storage_source[0].bucket &&
      google_cloudfunctions2_function.function["publish"].build_config[0].source[0].storage_source[0].object == google_cloudfunctions2_function.function["notify"].build_config[0].source[0].storage_source[0].object &&
      google_cloudfunctions2_function.function["notify"].build_config[0].source[0].storage_source[0].object == google_storage_bucket_object.function_bootstrap.name &&
      google_cloudfunctions2_function.function["publish"].build_config[0].runtime == google_cloudfunctions2_function.function["notify"].build_config[0].runtime &&
      google_cloudfunctions2_function.function["publish"].build_config[0].service_account == google_cloudfunctions2_function.function["notify"].build_config[0].service_account
    )
    error_message = "Publish must build from Notify's source archive, with Notify's runtime and build account"
  }
  assert {
    condition = (
      google_cloudfunctions2_function.function["publish"].service_config[0].service_account_email == google_service_account.function.email &&
      google_cloudfunctions2_function.function["publish"].service_config[0].vpc_connector == google_cloudfunctions2_function.function["notify"].service_config[0].vpc_connector &&
      google_cloudfunctions2_function.function["publish"].service_config[0].vpc_connector_egress_settings == google_cloudfunctions2_function.function["notify"].service_config[0].vpc_connector_egress_settings &&
      google_cloudfunctions2_function.function["publish"].service_config[0].environment_variables == google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables &&
      google_cloudfunctions2_function.function["publish"].service_config[0].secret_environment_variables == google_cloudfunctions2_function.function["notify"].service_config[0].secret_environment_variables &&
      google_cloudfunctions2_function.function["publish"].service_config[0].secret_volumes == google_cloudfunctions2_function.function["notify"].service_config[0].secret_volumes
    )
    error_message = "Publish must run as the function's account with Notify's Redis secrets, environment and connector"
  }
  assert {
    condition     = toset([for e in google_cloudfunctions2_function.function["publish"].service_config[0].secret_environment_variables : e.key]) == toset(["REDIS_ADDR", "REDIS_PASSWORD"]) && length(google_cloudfunctions2_function.function["publish"].service_config[0].secret_volumes) == 1 && google_cloudfunctions2_function.function["publish"].service_config[0].environment_variables["REDIS_TLS_CA"] == "/secrets/redis-ca/ca.pem"
    error_message = "with AUTH and TLS, Publish reads the address, AUTH string and CA like Notify"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["publish"].service_config[0].max_instance_request_concurrency == 32 && google_cloudfunctions2_function.function["publish"].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY" && google_cloudfunctions2_function.function["publish"].service_config[0].max_instance_count == google_cloudfunctions2_function.function["notify"].service_config[0].max_instance_count
    error_message = "Publish: 32 events at a time like Notify, internal ingress, the same instance cap"
  }
}

run "publish_trigger_and_dead_letters" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.function["publish"].event_trigger[0].pubsub_topic == google_pubsub_topic.notifications.id && google_pubsub_topic.notifications.name == "notifications" && google_cloudfunctions2_function.function["publish"].event_trigger[0].event_type == "google.cloud.pubsub.topic.v1.messagePublished" && google_cloudfunctions2_function.function["publish"].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY"
    error_message = "Publish's trigger must listen to the notifications topic and retry"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["publish"].event_trigger[0].service_account_email == google_service_account.publish_trigger.email && google_cloud_run_v2_service_iam_member.trigger_invokes_function["publish"].name == google_cloudfunctions2_function.function["publish"].name && google_cloud_run_v2_service_iam_member.trigger_invokes_function["publish"].member == google_service_account.publish_trigger.member && google_cloud_run_v2_service_iam_member.trigger_invokes_function["publish"].role == "roles/run.invoker"
    error_message = "Publish's trigger has its own account, which may invoke Publish"
  }
  assert {
    condition     = google_service_account.publish_trigger.email != google_service_account.trigger.email && google_cloud_run_v2_service_iam_member.trigger_invokes_function["notify"].member != google_service_account.publish_trigger.member && google_project_iam_member.publish_trigger_event_receiver.member == google_service_account.publish_trigger.member
    error_message = "neither trigger's account may invoke the other function"
  }
  assert {
    condition     = terraform_data.dead_letter_policy["publish"].triggers_replace[0] == google_cloudfunctions2_function.function["publish"].event_trigger[0].trigger && terraform_data.dead_letter_policy["publish"].triggers_replace[1] == google_pubsub_topic.dead_letter["publish"].id && terraform_data.dead_letter_policy["publish"].triggers_replace[2] == var.dead_letter_max_attempts
    error_message = "the dead-letter policy must be attached to Publish's trigger, to its own dead-letter topic, after dead_letter_max_attempts"
  }
  assert {
    condition     = google_pubsub_topic.dead_letter["publish"].id != google_pubsub_topic.dead_letter["notify"].id && google_pubsub_subscription.dead_letter["publish"].topic == google_pubsub_topic.dead_letter["publish"].id && google_pubsub_subscription.dead_letter["publish"].message_retention_duration == "604800s" && google_pubsub_subscription.dead_letter["publish"].expiration_policy[0].ttl == ""
    error_message = "Publish's dead-letter topic keeps what it receives for 7 days in a subscription that never expires"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.dead_letter_publisher["publish"].topic == google_pubsub_topic.dead_letter["publish"].id && google_pubsub_topic_iam_member.dead_letter_publisher["publish"].role == "roles/pubsub.publisher" && google_pubsub_topic_iam_member.dead_letter_publisher["publish"].member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    error_message = "the Pub/Sub service agent must be able to forward Publish's dead letters"
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.publish_dead_letter_backlog.conditions[0].condition_threshold[0].filter, "subscription_id = \"vividly-notify-dev-publish-dead-letter\"") && google_monitoring_alert_policy.publish_dead_letter_backlog.conditions[0].condition_threshold[0].threshold_value == 0
    error_message = "any dead letter of Publish must alert"
  }
  assert {
    condition     = strcontains(google_logging_metric.rejected_notifications.filter, "service_name = \"vividly-notify-dev-publish\"") && strcontains(google_monitoring_dashboard.main.dashboard_json, "logging.googleapis.com/user/vividly-notify-dev-rejected-notifications") && strcontains(google_monitoring_dashboard.main.dashboard_json, "vividly-notify-dev-publish-dead-letter")
    error_message = "Publish's refusals are counted from its own logs and charted with its dead letters"
  }
  assert {
    condition     = output.notifications_topic == google_pubsub_topic.notifications.id && output.publish_dead_letter_subscription == google_pubsub_subscription.dead_letter["publish"].id
    error_message = "publishers and the runbook need the topic and the dead-letter subscription as outputs"
  }
}

run "named_publishers_only" {
  command = plan
  variables {
    notification_publishers = ["grading@vividly-dev.iam.gserviceaccount.com", "quizzes@other-project.iam.gserviceaccount.com"]
  }

  assert {
    condition     = toset(keys(google_pubsub_topic_iam_member.notifications_publisher)) == toset(["grading@vividly-dev.iam.gserviceaccount.com", "quizzes@other-project.iam.gserviceaccount.com"])
    error_message = "each named publisher, and nobody else, gets a binding"
  }
  assert {
    condition     = alltrue([for k, b in google_pubsub_topic_iam_member.notifications_publisher : b.topic == google_pubsub_topic.notifications.id && b.role == "roles/pubsub.publisher" && b.member == "serviceAccount:${k}" && length(b.condition) == 0])
    error_message = "a publisher gets roles/pubsub.publisher on the notifications topic only, unconditionally"
  }
  assert {
    condition     = google_pubsub_topic_iam_member.dead_letter_publisher["notify"].topic != google_pubsub_topic.notifications.id && google_pubsub_topic_iam_member.dead_letter_publisher["publish"].topic != google_pubsub_topic.notifications.id
    error_message = "no other topic binding may land on the notifications topic"
  }
}

run "no_publishers_by_default" {
  command = plan

  assert {
    condition     = length(google_pubsub_topic_iam_member.notifications_publisher) == 0
    error_message = "without notification_publishers nobody is granted publish"
  }
  assert {
    condition     = google_pubsub_topic.notifications.deletion_policy == "DELETE"
    error_message = "dev may delete the notifications topic"
  }
}

# Issue 24: a BASIC instance has no replica: every write is unreplicated by design, so
# no alert on it.
run "no_unreplicated_alert_without_replicas" {
  command = plan
  assert {
    condition     = length(google_monitoring_alert_policy.unreplicated_writes) == 0 && length(google_logging_metric.unreplicated_writes) == 0
    error_message = "dev (BASIC) must not alert on unreplicated writes"
  }
}

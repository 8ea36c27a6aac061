# Plans prod from environments/prod.tfvars, with the values a user must fill in
# supplied here (prod_placeholders.tftest.hcl checks that the file as shipped is
# refused until they are):
#   terraform test -var-file=environments/prod.tfvars -filter=tests/prod.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  alert_notification_channels = ["projects/vividly-prod/notificationChannels/1234567890"]
  jwt_issuer                  = "https://api.vividly.example"
  jwt_audience                = "vividly-notifications"
}

run "redis" {
  command = plan

  assert {
    condition     = google_redis_instance.main[0].tier == "STANDARD_HA" && google_redis_instance.main[0].memory_size_gb == 5 && google_redis_instance.main[0].redis_version == "REDIS_7_0"
    error_message = "prod Redis must be STANDARD_HA, 5 GB, Redis 7"
  }
  assert {
    condition     = google_redis_instance.main[0].persistence_config[0].persistence_mode == "RDB" && google_redis_instance.main[0].persistence_config[0].rdb_snapshot_period == "ONE_HOUR"
    error_message = "prod must snapshot Redis (RDB) every hour: history, read state and preferences live there"
  }
  assert {
    condition     = google_redis_instance.main[0].auth_enabled && google_redis_instance.main[0].transit_encryption_mode == "SERVER_AUTHENTICATION" && google_redis_instance.main[0].deletion_protection
    error_message = "prod Redis: AUTH, TLS and deletion protection on"
  }
  assert {
    condition     = !contains(keys(google_redis_instance.main[0].redis_configs), "maxclients") && google_redis_instance.main[0].redis_configs["maxmemory-policy"] == "volatile-lru" && google_redis_instance.main[0].redis_configs["timeout"] == "300"
    error_message = "prod redis_configs: the plan's parameters, never maxclients"
  }
}

run "connector" {
  command = plan

  assert {
    condition     = google_vpc_access_connector.main.machine_type == "e2-standard-4" && google_vpc_access_connector.main.min_instances == 2 && google_vpc_access_connector.main.max_instances == 10
    error_message = "prod connector: e2-standard-4, 2-10 instances"
  }
  assert {
    # 10 e2-standard-4 instances carry 16,000 Mbps; 80 % is 1,600,000,000 bytes/s.
    condition     = alltrue([for c in google_monitoring_alert_policy.connector_throughput.conditions : c.condition_threshold[0].threshold_value == 1600000000]) && length(google_monitoring_alert_policy.connector_throughput.conditions) == 2
    error_message = "the prod connector alert must fire at 80 % of 10 x 1600 Mbps, in both directions"
  }
}

run "stream_service" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].scaling[0].min_instance_count == 2 && google_cloud_run_v2_service.stream.template[0].scaling[0].max_instance_count == 100 && google_cloud_run_v2_service.stream.template[0].max_instance_request_concurrency == 1000
    error_message = "prod stream: 2-100 instances of 1000 streams (the plan's 100,000+)"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.deletion_protection && google_cloud_run_v2_service.stream.invoker_iam_disabled
    error_message = "prod stream: deletion-protected, public without allUsers"
  }
  assert {
    condition     = { for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name => e.value if contains(["LOG_LEVEL", "JWT_ISSUER", "JWT_AUDIENCE", "METRICS_ADDR", "ALLOWED_ORIGINS"], e.name) } == { LOG_LEVEL = "info", JWT_ISSUER = "https://api.vividly.example", JWT_AUDIENCE = "vividly-notifications", METRICS_ADDR = "127.0.0.1:9090", ALLOWED_ORIGINS = "https://app.vividly.example" }
    error_message = "prod stream must check issuer and audience, log at info, and keep metrics on loopback"
  }
}

run "alerts_notify_someone" {
  command = plan

  assert {
    condition = alltrue([for p in [
      google_monitoring_alert_policy.redis_memory, google_monitoring_alert_policy.redis_connections,
      google_monitoring_alert_policy.delivery_latency, google_monitoring_alert_policy.connection_errors,
      google_monitoring_alert_policy.dead_letter_backlog, google_monitoring_alert_policy.connector_throughput,
      google_monitoring_alert_policy.publish_dead_letter_backlog,
    ] : p.notification_channels == tolist(["projects/vividly-prod/notificationChannels/1234567890"])])
    error_message = "every prod alert must notify the configured channel"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_connections.conditions[0].condition_threshold[0].threshold_value == 45000
    error_message = "prod Redis clients alert: 90 % of the 50,000 budget"
  }
  assert {
    condition     = google_monitoring_alert_policy.delivery_latency.conditions[0].condition_prometheus_query_language[0].query == "histogram_quantile(0.99, sum by (le) (rate(sse_delivery_latency_seconds_bucket[5m]))) > 0.05"
    error_message = "delivery latency alert: p99 above the plan's 50 ms"
  }
}

run "dashboard_one_data_set_per_query" {
  command = plan

  assert {
    condition     = alltrue(flatten([for t in jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles : [for d in t.widget.xyChart.dataSets : !strcontains(try(d.timeSeriesQuery.prometheusQuery, ""), " or ")]]))
    error_message = "a PromQL `a or b` of label-less aggregates draws only a: give each query its own data set"
  }
  assert {
    condition     = [for t in jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles : length(t.widget.xyChart.dataSets) if t.widget.title == "Delivery latency p50 / p99 (s)"] == [2] && [for t in jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles : length(t.widget.xyChart.dataSets) if startswith(t.widget.title, "Slow-client drops")] == [3]
    error_message = "p50/p99 must be two data sets, drops/resets/resyncs three"
  }
  assert {
    condition     = [for t in jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles : length(t.widget.xyChart.dataSets) if startswith(t.widget.title, "Dead-letter backlog")] == [2]
    error_message = "the dead-letter chart draws Notify's and Publish's backlogs, one data set each"
  }
  assert {
    condition     = length(jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles) == 15 && alltrue([for t in jsondecode(google_monitoring_dashboard.main.dashboard_json).mosaicLayout.tiles : length(t.widget.xyChart.dataSets) > 0])
    error_message = "every tile must draw something"
  }
  assert {
    condition     = strcontains(google_monitoring_dashboard.main.dashboard_json, "redis.googleapis.com/stats/memory/usage_ratio") && strcontains(google_monitoring_dashboard.main.dashboard_json, "redis.googleapis.com/clients/connected") && strcontains(google_monitoring_dashboard.main.dashboard_json, "redis.googleapis.com/commands/calls") && strcontains(google_monitoring_dashboard.main.dashboard_json, "redis.googleapis.com/stats/network_traffic")
    error_message = "the plan's four Redis charts: memory, clients, commands/s, network bytes/s"
  }
}

# Other services publish to the notifications topic: prod refuses to destroy it.
run "notifications_topic_kept" {
  command = plan

  assert {
    condition     = google_pubsub_topic.notifications.deletion_policy == "PREVENT" && google_pubsub_topic.notifications.name == "notifications"
    error_message = "prod's notifications topic must be protected from deletion"
  }
}

# Issue 31 item 2: "vividly-notify-prod" is 21 with each hyphen counted twice, which
# Serverless VPC Access refuses at create time; prod's connector drops the prefix's
# hyphen.
run "connector_name_fits" {
  command = plan
  assert {
    condition     = google_vpc_access_connector.main.name == "vividlynotify-prod" && length(google_vpc_access_connector.main.name) + length(regexall("-", google_vpc_access_connector.main.name)) < 21
    error_message = "prod's connector name must be under 21 characters with hyphens counted twice"
  }
}

run "connector_name_too_long_is_refused" {
  command = plan
  variables {
    name_prefix = "vividlynotifies"
  }
  expect_failures = [google_vpc_access_connector.main]
}

# Issue 31 item 7: 100 instances with Direct VPC egress need about 400 addresses during
# a rollout; prod's /24 holds 252.
run "direct_egress_subnet_too_small_is_refused" {
  command = plan
  variables {
    stream_vpc_egress = "direct"
  }
  expect_failures = [google_cloud_run_v2_service.stream]
}

run "direct_egress_with_room_plans" {
  command = plan
  variables {
    stream_vpc_egress = "direct"
    redis_subnet_cidr = "10.10.4.0/22"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces[0].subnetwork == google_compute_subnetwork.redis.id
    error_message = "a /22 holds 100 instances through a rollout"
  }
}

# Issue 24: with STANDARD_HA, writes acknowledged without a replica raise an alert,
# counted from the functions' "writes not replicated" lines.
run "unreplicated_writes_alerted" {
  command = plan
  assert {
    condition     = length(google_logging_metric.unreplicated_writes) == 1 && strcontains(google_logging_metric.unreplicated_writes[0].filter, "jsonPayload.message = \"writes not replicated\"") && strcontains(google_logging_metric.unreplicated_writes[0].filter, "severity = WARNING")
    error_message = "prod (STANDARD_HA) must count the functions' \"writes not replicated\" lines"
  }
  assert {
    condition     = length(google_monitoring_alert_policy.unreplicated_writes) == 1 && google_monitoring_alert_policy.unreplicated_writes[0].conditions[0].condition_threshold[0].threshold_value == 0
    error_message = "prod must alert on any unreplicated write"
  }
}

# Prod in cluster mode (redis_mode = "cluster"; tests/cluster.tftest.hcl has the rest).
run "cluster_prod" {
  command = plan
  variables {
    redis_mode = "cluster"
  }

  assert {
    condition     = google_redis_cluster.main[0].replica_count == 1 && google_redis_cluster.main[0].shard_count == 3 && google_redis_cluster.main[0].node_type == "REDIS_HIGHMEM_MEDIUM"
    error_message = "prod cluster: three shards with a replica each on a dedicated node type"
  }
  assert {
    condition     = google_redis_cluster.main[0].persistence_config[0].mode == "RDB" && google_redis_cluster.main[0].persistence_config[0].rdb_config[0].rdb_snapshot_period == "ONE_HOUR" && google_redis_cluster.main[0].deletion_protection_enabled
    error_message = "prod cluster: hourly RDB snapshots and deletion protection, as for the instance"
  }
  assert {
    condition     = google_redis_cluster.main[0].authorization_mode == "AUTH_MODE_IAM_AUTH" && google_redis_cluster.main[0].transit_encryption_mode == "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
    error_message = "prod cluster: IAM authentication and TLS"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_memory.notification_channels == tolist(["projects/vividly-prod/notificationChannels/1234567890"]) && length(google_monitoring_alert_policy.unreplicated_writes) == 1
    error_message = "prod cluster alerts notify the channel, the replication alert included"
  }
}

# Prod grows Redis on its own (environments/prod.tfvars): 5 GB up to 10, 1 GB a step.
run "redis_scales_itself" {
  command = plan

  assert {
    condition     = google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_MIN"] == "5" && google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_MAX"] == "10" && google_cloudfunctions2_function.redis_scale[0].service_config[0].environment_variables["SCALE_STEP"] == "1"
    error_message = "prod: RedisScale grows the 5 GB instance up to 10 GB, 1 GB at a time"
  }
  assert {
    condition     = google_monitoring_alert_policy.redis_scale[0].conditions[0].condition_threshold[0].threshold_value < google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].threshold_value
    error_message = "the scaling alert fires before the human one"
  }
}

# Cluster mode (redis_mode = "cluster"), planned from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/cluster.tftest.hcl ...
# prod.tftest.hcl plans prod in cluster mode too ("cluster_prod").

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  redis_mode                = "cluster"
  redis_cluster_shard_count = 2
  redis_cluster_node_type   = "REDIS_SHARED_CORE_NANO"
}

run "cluster_replaces_instance" {
  command = plan

  assert {
    condition     = length(google_redis_instance.main) == 0 && length(google_redis_cluster.main) == 1
    error_message = "cluster mode creates the cluster and no instance"
  }
  assert {
    condition     = google_redis_cluster.main[0].shard_count == 2 && google_redis_cluster.main[0].replica_count == 1 && google_redis_cluster.main[0].node_type == "REDIS_SHARED_CORE_NANO" && google_redis_cluster.main[0].region == "us-central1"
    error_message = "shards, replicas and node type must follow the variables"
  }
  assert {
    condition     = google_redis_cluster.main[0].authorization_mode == "AUTH_MODE_IAM_AUTH" && google_redis_cluster.main[0].transit_encryption_mode == "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
    error_message = "dev's redis_auth_enabled and redis_transit_encryption mean IAM auth and TLS on the cluster"
  }
  assert {
    condition     = google_redis_cluster.main[0].persistence_config[0].mode == "DISABLED" && !google_redis_cluster.main[0].deletion_protection_enabled && google_redis_cluster.main[0].zone_distribution_config[0].mode == "MULTI_ZONE"
    error_message = "dev: no persistence, no deletion protection, zones spread"
  }
  assert {
    condition     = google_redis_cluster.main[0].redis_configs == tomap({ "maxmemory-policy" = "volatile-lru", "notify-keyspace-events" = "Ex" })
    error_message = "cluster redis_configs: the instance's, minus timeout (not a cluster parameter)"
  }
  assert {
    condition     = google_redis_cluster.main[0].psc_configs[0].network == google_compute_network.main.id
    error_message = "the cluster's endpoints go into our VPC"
  }
}

run "private_service_connect" {
  command = plan

  assert {
    condition     = google_network_connectivity_service_connection_policy.redis[0].service_class == "gcp-memorystore-redis" && google_network_connectivity_service_connection_policy.redis[0].network == google_compute_network.main.id && google_network_connectivity_service_connection_policy.redis[0].psc_config[0].subnetworks == tolist([google_compute_subnetwork.redis.id]) && google_network_connectivity_service_connection_policy.redis[0].location == "us-central1"
    error_message = "the service connection policy must name Memorystore's service class, our VPC and the Redis subnet"
  }
  assert {
    condition     = contains(keys(google_project_service.apis), "networkconnectivity.googleapis.com")
    error_message = "the Network Connectivity API must be on for the policy"
  }
  assert {
    condition     = one(google_compute_firewall.redis_egress_allow.allow).ports == tolist(["6379", "11000-13047"]) && google_compute_firewall.redis_egress_allow.destination_ranges == toset(["10.10.0.0/24"]) && google_compute_firewall.redis_egress_deny.destination_ranges == toset(["10.10.0.0/24"]) && one(google_compute_firewall.redis_egress_deny.deny).ports == tolist(["6379", "11000-13047"])
    error_message = "the egress rules must guard the PSC endpoints: the Redis subnet, discovery port and node ports"
  }
}

run "services_get_cluster_settings" {
  command = plan

  assert {
    condition     = google_secret_manager_secret_version.redis["redis-addr"].secret_data == "10.10.0.5:6379"
    error_message = "REDIS_ADDR is the discovery endpoint host:port"
  }
  assert {
    condition     = google_secret_manager_secret_version.redis["redis-ca"].secret_data == "-----BEGIN CERTIFICATE-----ca1-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----ca2-----END CERTIFICATE-----"
    error_message = "REDIS_TLS_CA holds every managed CA certificate, one per line"
  }
  assert {
    condition     = toset(keys(google_secret_manager_secret.redis)) == toset(["redis-addr", "redis-ca"])
    error_message = "no AUTH-string secret in cluster mode: the cluster has none"
  }
  assert {
    condition     = { for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name => e.value if startswith(e.name, "REDIS_") && e.value != null } == { REDIS_MODE = "cluster", REDIS_IAM_AUTH = "true", REDIS_TLS_CA = "/secrets/redis-ca/ca.pem" }
    error_message = "the stream runs in cluster mode with IAM auth and the CA"
  }
  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.function : f.service_config[0].environment_variables["REDIS_MODE"] == "cluster" && f.service_config[0].environment_variables["REDIS_IAM_AUTH"] == "true" && f.service_config[0].environment_variables["REDIS_TLS_CA"] == "/secrets/redis-ca/ca.pem"])
    error_message = "both functions run in cluster mode with IAM auth and the CA"
  }
  assert {
    condition     = length([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e if e.name == "REDIS_PASSWORD"]) == 0 && alltrue([for f in google_cloudfunctions2_function.function : !contains([for v in f.service_config[0].secret_environment_variables : v.key], "REDIS_PASSWORD")])
    error_message = "no REDIS_PASSWORD in cluster mode: the password is an IAM token the app fetches"
  }
  assert {
    condition     = { for k, m in google_project_iam_member.redis_db_connection : k => [m.role, m.member] } == { stream = ["roles/redis.dbConnectionUser", google_service_account.stream.member], function = ["roles/redis.dbConnectionUser", google_service_account.function.member] }
    error_message = "both runtime accounts (and only they) may connect with IAM auth"
  }
}

run "cluster_alerts" {
  command = plan

  assert {
    condition     = strcontains(google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].filter, "resource.type = \"redis.googleapis.com/Cluster\" AND resource.labels.cluster_id = \"vividly-notify-dev\"") && strcontains(google_monitoring_alert_policy.redis_memory.conditions[0].condition_threshold[0].filter, "metric.type = \"redis.googleapis.com/cluster/memory/maximum_utilization\"")
    error_message = "the memory alert watches the cluster's fullest node"
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.redis_connections.conditions[0].condition_threshold[0].filter, "redis.googleapis.com/cluster/clients/maximum_connected_clients")
    error_message = "the clients alert watches the cluster's busiest node"
  }
  assert {
    condition     = length(google_monitoring_alert_policy.unreplicated_writes) == 1
    error_message = "a cluster with replicas gets the unreplicated-writes alert, as STANDARD_HA does"
  }
  assert {
    condition     = !strcontains(google_monitoring_dashboard.main.dashboard_json, "redis_instance") && strcontains(google_monitoring_dashboard.main.dashboard_json, "redis.googleapis.com/cluster/cpu/maximum_utilization")
    error_message = "the dashboard charts the cluster, not an instance that does not exist"
  }
}

run "cluster_auth_and_tls_off" {
  command = plan
  variables {
    redis_auth_enabled          = false
    redis_transit_encryption    = false
    redis_cluster_replica_count = 0
  }

  assert {
    condition     = google_redis_cluster.main[0].authorization_mode == "AUTH_MODE_DISABLED" && google_redis_cluster.main[0].transit_encryption_mode == "TRANSIT_ENCRYPTION_MODE_DISABLED"
    error_message = "auth and TLS follow the variables"
  }
  assert {
    condition     = length(google_project_iam_member.redis_db_connection) == 0 && !contains([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name], "REDIS_IAM_AUTH") && toset(keys(google_secret_manager_secret.redis)) == toset(["redis-addr"])
    error_message = "without IAM auth: no role, no REDIS_IAM_AUTH; without TLS: no CA"
  }
  assert {
    condition     = length(google_monitoring_alert_policy.unreplicated_writes) == 0
    error_message = "no replicas: every write is unreplicated by design, as on BASIC"
  }
}

run "standalone_default_unchanged" {
  command = plan
  variables {
    redis_mode = "standalone"
  }

  assert {
    condition     = length(google_redis_cluster.main) == 0 && length(google_network_connectivity_service_connection_policy.redis) == 0 && length(google_redis_instance.main) == 1 && !contains(keys(google_project_service.apis), "networkconnectivity.googleapis.com")
    error_message = "standalone mode creates the instance and no cluster plumbing"
  }
  assert {
    condition     = !contains([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name], "REDIS_MODE") && length(google_project_iam_member.redis_db_connection) == 0
    error_message = "standalone: REDIS_MODE stays at its default (unset), no IAM connection role"
  }
}

run "prod_cluster_needs_a_replica" {
  command = plan
  variables {
    environment                 = "prod"
    redis_cluster_replica_count = 0
    redis_cluster_node_type     = "REDIS_HIGHMEM_MEDIUM"
    redis_rdb_snapshot_period   = "ONE_HOUR"
    jwt_issuer                  = "https://api.vividly.example"
    jwt_audience                = "vividly-notifications"
    alert_notification_channels = ["projects/vividly-prod/notificationChannels/1234567890"]
  }
  expect_failures = [var.redis_cluster_replica_count]
}

run "prod_cluster_refuses_shared_core" {
  command = plan
  variables {
    environment                 = "prod"
    redis_rdb_snapshot_period   = "ONE_HOUR"
    jwt_issuer                  = "https://api.vividly.example"
    jwt_audience                = "vividly-notifications"
    alert_notification_channels = ["projects/vividly-prod/notificationChannels/1234567890"]
  }
  expect_failures = [var.redis_cluster_node_type]
}

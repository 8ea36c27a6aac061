# Every validation rejects a value it exists to reject (one run per rule), starting
# from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/validation.tftest.hcl ...
# The good values are covered by the plans of dev, prod and the variants.

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "connector_subnet_must_be_a_28" {
  command = plan
  variables {
    connector_subnet_cidr = "10.10.1.0/27"
  }
  expect_failures = [var.connector_subnet_cidr]
}

run "connector_subnet_without_host_bits" {
  command = plan
  variables {
    connector_subnet_cidr = "10.10.1.3/28"
  }
  expect_failures = [var.connector_subnet_cidr]
}

run "connector_subnet_is_not_the_redis_subnet" {
  command = plan
  variables {
    connector_subnet_cidr = "10.10.0.0/24"
  }
  expect_failures = [var.connector_subnet_cidr]
}

run "redis_subnet_without_host_bits" {
  command = plan
  variables {
    redis_subnet_cidr = "10.10.0.1/24"
  }
  expect_failures = [var.redis_subnet_cidr]
}

run "redis_subnet_is_ipv4" {
  command = plan
  variables {
    redis_subnet_cidr = "2001:db8::/64"
  }
  expect_failures = [var.redis_subnet_cidr]
}

run "reserved_range_is_a_29_not_a_28" {
  command = plan
  variables {
    redis_reserved_ip_range = "10.10.2.0/28"
  }
  expect_failures = [var.redis_reserved_ip_range]
}

run "reserved_range_is_not_a_24" {
  command = plan
  variables {
    redis_reserved_ip_range = "10.10.2.0/24"
  }
  expect_failures = [var.redis_reserved_ip_range]
}

run "redis_tier_basic_or_standard_ha" {
  command = plan
  variables {
    redis_tier = "PREMIUM"
  }
  expect_failures = [var.redis_tier]
}

run "redis_memory_at_least_1_gb" {
  command = plan
  variables {
    redis_memory_size_gb = 0
  }
  expect_failures = [var.redis_memory_size_gb]
}

run "redis_memory_at_most_300_gb" {
  command = plan
  variables {
    redis_memory_size_gb = 301
  }
  expect_failures = [var.redis_memory_size_gb]
}

run "redis_memory_whole_gb" {
  command = plan
  variables {
    redis_memory_size_gb = 1.5
  }
  expect_failures = [var.redis_memory_size_gb]
}

run "redis_version_7" {
  command = plan
  variables {
    redis_version = "REDIS_6_X"
  }
  expect_failures = [var.redis_version]
}

run "client_budget_within_memorystore_limit" {
  command = plan
  variables {
    redis_client_budget = 70000
  }
  expect_failures = [var.redis_client_budget]
}

run "client_budget_at_least_1000" {
  command = plan
  variables {
    redis_client_budget = 999
  }
  expect_failures = [var.redis_client_budget]
}

run "rdb_period_from_the_api_list" {
  command = plan
  variables {
    redis_rdb_snapshot_period = "TWO_HOURS"
  }
  expect_failures = [var.redis_rdb_snapshot_period]
}

run "connector_machine_type_allowed" {
  command = plan
  variables {
    connector_machine_type = "n1-standard-1"
  }
  expect_failures = [var.connector_machine_type]
}

run "connector_min_instances_at_least_2" {
  command = plan
  variables {
    connector_min_instances = 1
  }
  expect_failures = [var.connector_min_instances]
}

run "connector_max_instances_at_most_10" {
  command = plan
  variables {
    connector_max_instances = 11
  }
  expect_failures = [var.connector_max_instances]
}

run "connector_max_above_min" {
  command = plan
  variables {
    connector_min_instances = 5
    connector_max_instances = 5
  }
  expect_failures = [var.connector_max_instances]
}

run "stream_max_not_below_min" {
  command = plan
  variables {
    stream_min_instances = 4
    stream_max_instances = 3
  }
  expect_failures = [var.stream_max_instances]
}

run "stream_concurrency_at_most_1000" {
  command = plan
  variables {
    stream_concurrency = 1001
  }
  expect_failures = [var.stream_concurrency]
}

run "function_runtime_go125_to_go127" {
  command = plan
  variables {
    function_runtime = "go124"
  }
  expect_failures = [var.function_runtime]
}

run "function_max_not_below_min" {
  command = plan
  variables {
    function_min_instances = 10
    function_max_instances = 5
  }
  expect_failures = [var.function_max_instances]
}

run "dead_letter_attempts_5_to_100" {
  command = plan
  variables {
    dead_letter_max_attempts = 4
  }
  expect_failures = [var.dead_letter_max_attempts]
}

run "allowed_origins_no_wildcard" {
  command = plan
  variables {
    allowed_origins = ["*"]
  }
  expect_failures = [var.allowed_origins]
}

run "allowed_origins_no_path" {
  command = plan
  variables {
    allowed_origins = ["https://a.example/path"]
  }
  expect_failures = [var.allowed_origins]
}

run "jwks_url_https_only" {
  command = plan
  variables {
    jwt_jwks_url = "http://insecure.example/jwks"
  }
  expect_failures = [var.jwt_jwks_url]
}

run "content_job_topic_full_name" {
  command = plan
  variables {
    content_job_topic = "content-job-finished"
  }
  expect_failures = [var.content_job_topic]
}

run "environment_dev_or_prod" {
  command = plan
  variables {
    environment = "staging"
  }
  expect_failures = [var.environment]
}

run "project_id_format" {
  command = plan
  variables {
    project_id = "has_underscore"
  }
  expect_failures = [var.project_id]
}

run "stream_vpc_egress_choice" {
  command = plan
  variables {
    stream_vpc_egress = "both"
  }
  expect_failures = [var.stream_vpc_egress]
}

run "alert_channel_format" {
  command = plan
  variables {
    alert_notification_channels = ["email:ops@example.com"]
  }
  expect_failures = [var.alert_notification_channels]
}

run "daily_schedule_is_cron" {
  command = plan
  variables {
    daily_build_schedule = "daily"
  }
  expect_failures = [var.daily_build_schedule]
}

run "prod_needs_jwt_issuer" {
  command = plan
  variables {
    environment                 = "prod"
    alert_notification_channels = ["projects/p-123456/notificationChannels/42"]
    redis_rdb_snapshot_period   = "ONE_HOUR"
    jwt_audience                = "vividly-notifications"
  }
  expect_failures = [var.jwt_issuer]
}

run "prod_needs_jwt_audience" {
  command = plan
  variables {
    environment                 = "prod"
    alert_notification_channels = ["projects/p-123456/notificationChannels/42"]
    redis_rdb_snapshot_period   = "ONE_HOUR"
    jwt_issuer                  = "https://api.vividly.example"
  }
  expect_failures = [var.jwt_audience]
}

run "publisher_without_member_prefix" {
  command = plan
  variables {
    notification_publishers = ["serviceAccount:grading@vividly-dev.iam.gserviceaccount.com"]
  }
  expect_failures = [var.notification_publishers]
}

run "publisher_is_a_service_account" {
  command = plan
  variables {
    notification_publishers = ["grading@vividly-dev.iam.gserviceaccount.com", "teacher@vividly.example"]
  }
  expect_failures = [var.notification_publishers]
}

run "publisher_not_a_default_account" {
  command = plan
  variables {
    notification_publishers = ["123456789012-compute@developer.gserviceaccount.com"]
  }
  expect_failures = [var.notification_publishers]
}

run "notifications_topic_is_a_short_name" {
  command = plan
  variables {
    notifications_topic = "projects/vividly-dev/topics/notifications"
  }
  expect_failures = [var.notifications_topic]
}

run "notifications_topic_not_goog" {
  command = plan
  variables {
    notifications_topic = "goog-notifications"
  }
  expect_failures = [var.notifications_topic]
}

# environments/prod.tfvars as shipped must be refused, naming every value a user has
# to fill in (the alert channel placeholder, the JWT issuer and audience):
#   terraform test -var-file=environments/prod.tfvars -filter=tests/prod_placeholders.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "shipped_prod_tfvars_is_refused" {
  command = plan

  expect_failures = [
    var.alert_notification_channels,
    var.jwt_issuer,
    var.jwt_audience,
  ]
}

run "prod_without_any_channel_is_refused" {
  command = plan
  variables {
    alert_notification_channels = []
    jwt_issuer                  = "https://api.vividly.example"
    jwt_audience                = "vividly-notifications"
  }

  expect_failures = [var.alert_notification_channels]
}

run "prod_without_rdb_is_refused" {
  command = plan
  variables {
    alert_notification_channels = ["projects/vividly-prod/notificationChannels/1234567890"]
    jwt_issuer                  = "https://api.vividly.example"
    jwt_audience                = "vividly-notifications"
    redis_rdb_snapshot_period   = ""
  }

  expect_failures = [var.redis_rdb_snapshot_period]
}

run "filled_in_prod_tfvars_plans" {
  command = plan
  variables {
    alert_notification_channels = ["projects/vividly-prod/notificationChannels/1234567890"]
    jwt_issuer                  = "https://api.vividly.example"
    jwt_audience                = "vividly-notifications"
  }

  assert {
    condition     = google_monitoring_alert_policy.redis_memory.notification_channels == tolist(["projects/vividly-prod/notificationChannels/1234567890"])
    error_message = "with the placeholders filled in, prod plans and its alerts notify the channel"
  }
}

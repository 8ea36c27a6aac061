# The variants, each planned from environments/dev.tfvars with one choice changed:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/variants.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "direct_vpc_egress" {
  command = plan
  variables {
    stream_vpc_egress = "direct"
  }

  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].vpc_access[0].connector == null && length(google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces) == 1
    error_message = "Direct VPC egress replaces the connector on the stream service (the two cannot be combined)"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces[0].subnetwork == google_compute_subnetwork.redis.id && google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces[0].network == google_compute_network.main.id
    error_message = "Direct VPC egress takes its addresses from the Redis subnet (with flow logs)"
  }
  assert {
    condition     = google_cloud_run_v2_service.stream.template[0].vpc_access[0].network_interfaces[0].tags == tolist(["redis-client"]) && contains(google_compute_firewall.redis_egress_allow.target_tags, "redis-client")
    error_message = "stream instances must carry the tag the Redis egress rule admits"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].service_config[0].vpc_connector == google_vpc_access_connector.main.id
    error_message = "the function keeps the connector"
  }
}

run "auth_and_tls_off" {
  command = plan
  variables {
    redis_auth_enabled       = false
    redis_transit_encryption = false
  }

  assert {
    condition     = !google_redis_instance.main[0].auth_enabled && google_redis_instance.main[0].transit_encryption_mode == "DISABLED"
    error_message = "AUTH and TLS must follow the variables"
  }
  assert {
    condition     = toset(keys(google_secret_manager_secret.redis)) == toset(["redis-addr"])
    error_message = "without AUTH and TLS only the address is a secret"
  }
  assert {
    condition     = length([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e if contains(["REDIS_PASSWORD", "REDIS_TLS_CA"], e.name)]) == 0 && length([for v in google_cloud_run_v2_service.stream.template[0].volumes : v if v.name == "redis-ca"]) == 0
    error_message = "the stream must not ask for an AUTH string or CA that do not exist"
  }
  assert {
    condition     = length(google_cloudfunctions2_function.function["notify"].service_config[0].secret_volumes) == 0 && toset([for e in google_cloudfunctions2_function.function["notify"].service_config[0].secret_environment_variables : e.key]) == toset(["REDIS_ADDR"]) && !contains(keys(google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables), "REDIS_TLS_CA")
    error_message = "the function must not ask for an AUTH string or CA that do not exist"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["publish"].service_config[0].secret_environment_variables == google_cloudfunctions2_function.function["notify"].service_config[0].secret_environment_variables && length(google_cloudfunctions2_function.function["publish"].service_config[0].secret_volumes) == 0 && google_cloudfunctions2_function.function["publish"].service_config[0].environment_variables == google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables
    error_message = "Publish follows the same Redis settings as Notify"
  }
}

run "jwks" {
  command = plan
  variables {
    jwt_jwks_url = "https://auth.vividly.example/.well-known/jwks.json"
    jwt_issuer   = "https://auth.vividly.example"
    jwt_audience = "vividly-notifications"
  }

  assert {
    condition     = length(google_secret_manager_secret.jwt) == 0 && length(google_secret_manager_secret_iam_member.jwt_stream) == 0 && output.jwt_secret_id == null
    error_message = "with a JWKS there is no HS256 secret"
  }
  assert {
    condition     = { for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name => e.value if startswith(e.name, "JWT_") } == { JWT_JWKS_URL = "https://auth.vividly.example/.well-known/jwks.json", JWT_ISSUER = "https://auth.vividly.example", JWT_AUDIENCE = "vividly-notifications" }
    error_message = "the stream must verify with the JWKS, issuer and audience, and read no JWT_SECRET"
  }
}

run "go127_runtime" {
  command = plan
  variables {
    function_runtime = "go127"
  }

  assert {
    condition     = google_cloudfunctions2_function.function["notify"].build_config[0].runtime == "go127" && google_cloudbuild_trigger.main.substitutions["_FN_RUNTIME"] == "go127"
    error_message = "go127 must be accepted and reach the build"
  }
}

run "web_push_off_by_default" {
  command = plan

  assert {
    condition     = length(google_secret_manager_secret.vapid) == 0 && length([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e if startswith(e.name, "VAPID_")]) == 0
    error_message = "without a VAPID public key there is no VAPID secret and no VAPID_* variable (push off)"
  }
  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables), "PUSH_ENABLED")
    error_message = "with push off the function queues nothing (no worker would drain the queue)"
  }
}

run "web_push" {
  command = plan
  variables {
    vapid_public_key          = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    vapid_private_key_version = "4"
    vapid_subject             = "mailto:ops@vividly.example"
  }

  assert {
    condition     = { for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name => e.value if contains(["VAPID_PUBLIC_KEY", "VAPID_SUBJECT"], e.name) } == { VAPID_PUBLIC_KEY = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", VAPID_SUBJECT = "mailto:ops@vividly.example" }
    error_message = "the public key and subject reach the stream as plain variables"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value_source[0].secret_key_ref[0].secret if e.name == "VAPID_PRIVATE_KEY"]) == google_secret_manager_secret.vapid[0].secret_id
    error_message = "VAPID_PRIVATE_KEY must come from Secret Manager"
  }
  assert {
    condition     = google_secret_manager_secret_iam_member.vapid_stream[0].member == google_service_account.stream.member && google_secret_manager_secret_iam_member.vapid_stream[0].role == "roles/secretmanager.secretAccessor"
    error_message = "only the stream's account may read the VAPID private key"
  }
  assert {
    condition     = google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables["PUSH_ENABLED"] == "true"
    error_message = "the function must queue new notifications for Web Push when the stream sends them"
  }
  assert {
    condition     = lookup(google_cloudfunctions2_function.function["publish"].service_config[0].environment_variables, "PUSH_ENABLED", "") == "true"
    error_message = "Publish must queue its notifications for Web Push too"
  }
}

run "web_push_needs_a_subject" {
  command = plan
  variables {
    vapid_public_key          = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    vapid_private_key_version = "4"
  }
  expect_failures = [var.vapid_subject]
}

run "web_push_key_rotation" {
  command = plan
  variables {
    vapid_public_key                   = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    vapid_private_key_version          = "4"
    vapid_subject                      = "mailto:ops@vividly.example"
    vapid_previous_public_key          = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    vapid_previous_private_key_version = "3"
  }

  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value if e.name == "VAPID_PREVIOUS_PUBLIC_KEY"]) == "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    error_message = "the key being rotated out reaches the stream"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value_source[0].secret_key_ref[0].version if e.name == "VAPID_PREVIOUS_PRIVATE_KEY"]) == "3"
    error_message = "the previous private key is the pinned older version of the same secret"
  }
}

run "web_push_rotation_needs_both" {
  command = plan
  variables {
    vapid_public_key          = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
    vapid_private_key_version = "4"
    vapid_subject             = "mailto:ops@vividly.example"
    vapid_previous_public_key = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
  }
  expect_failures = [var.vapid_previous_private_key_version]
}

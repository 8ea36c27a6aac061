# Mobile push through FCM (fcm.tf), planned from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/fcm.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "fcm_off_by_default" {
  command = plan

  assert {
    condition     = length(google_project_iam_custom_role.fcm_sender) == 0 && length(google_project_iam_member.stream_fcm_sender) == 0 && !contains(keys(google_project_service.apis), "fcm.googleapis.com")
    error_message = "fcm_enabled defaults to false: no role, no grant, no API"
  }
  assert {
    condition     = !contains([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name], "FCM_PROJECT_ID") && !contains(keys(google_cloudfunctions2_function.function["notify"].service_config[0].environment_variables), "PUSH_ENABLED")
    error_message = "without FCM (and Web Push) the stream has no FCM_PROJECT_ID and the functions queue nothing for push"
  }
}

run "fcm_on" {
  command = plan
  variables {
    fcm_enabled = true
  }

  assert {
    condition     = contains(keys(google_project_service.apis), "fcm.googleapis.com") && !google_project_service.apis["fcm.googleapis.com"].disable_on_destroy
    error_message = "the FCM API must be enabled (and stay on, like the others)"
  }
  assert {
    condition     = google_project_iam_custom_role.fcm_sender[0].permissions == toset(["cloudmessaging.messages.create"]) && google_project_iam_custom_role.fcm_sender[0].role_id == "vividly_notify_dev_fcm_sender" && google_project_iam_custom_role.fcm_sender[0].stage == "GA"
    error_message = "the custom role holds exactly the send permission, with an ID the IAM API accepts"
  }
  assert {
    condition     = google_project_iam_member.stream_fcm_sender[0].role == "projects/test-project/roles/test_fcm_sender" && google_project_iam_member.stream_fcm_sender[0].member == google_service_account.stream.member && google_project_iam_member.stream_fcm_sender[0].project == "vividly-dev"
    error_message = "the stream's account (and only it) gets the sender role on the project"
  }
  assert {
    condition     = one([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.value if e.name == "FCM_PROJECT_ID"]) == "vividly-dev"
    error_message = "the stream sends to this project's FCM"
  }
  assert {
    condition     = alltrue([for f in google_cloudfunctions2_function.function : f.service_config[0].environment_variables["PUSH_ENABLED"] == "true" && !contains(keys(f.service_config[0].environment_variables), "FCM_PROJECT_ID")])
    error_message = "the functions queue notifications for push when FCM is on, even without Web Push; only the stream sends"
  }
  assert {
    condition     = !contains([for e in google_cloud_run_v2_service.stream.template[0].containers[0].env : e.name], "VAPID_PUBLIC_KEY")
    error_message = "FCM alone does not turn Web Push on"
  }
}

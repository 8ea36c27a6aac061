# Build and deploy identities, the Cloud Build triggers, cloudbuild.yaml's agreement
# with them, and the first-apply ordering, planned from environments/dev.tfvars:
#   terraform test -var-file=environments/dev.tfvars -filter=tests/ci.tftest.hcl ...

mock_provider "google" {
  source          = "./tests/mocks"
  override_during = plan
}

run "triggers_and_identities" {
  command = plan

  assert {
    condition     = google_cloudbuild_trigger.main.service_account == google_service_account.deployer.id && google_cloudbuild_trigger.manual.service_account == google_service_account.deployer.id
    error_message = "push-to-main and manual builds deploy, as the deployer"
  }
  assert {
    condition     = google_cloudbuild_trigger.pull_request.service_account == google_service_account.tester.id && google_cloudbuild_trigger.daily.service_account == google_service_account.tester.id
    error_message = "pull-request and daily builds must run as the test-only account"
  }
  assert {
    condition     = google_cloudbuild_trigger.pull_request.github[0].pull_request[0].comment_control == "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
    error_message = "outside contributors' pull requests must wait for a /gcbrun comment"
  }
  assert {
    condition     = google_cloudbuild_trigger.main.substitutions["_DEPLOY"] == "true" && google_cloudbuild_trigger.pull_request.substitutions["_DEPLOY"] == "false" && google_cloudbuild_trigger.daily.substitutions["_DEPLOY"] == "false" && google_cloudbuild_trigger.manual.substitutions["_DEPLOY"] == "false"
    error_message = "only push-to-main deploys by default"
  }
  assert {
    condition     = toset(keys(google_project_iam_member.tester)) == toset(["roles/logging.logWriter"])
    error_message = "the test-only account may write its build log and nothing else"
  }
  assert {
    condition     = toset(keys(google_service_account_iam_member.deployer_acts_as)) == toset(["function", "function_build", "stream"]) && alltrue([for b in google_service_account_iam_member.deployer_acts_as : b.member == google_service_account.deployer.member])
    error_message = "only the deployer acts as the runtime and build accounts"
  }
  assert {
    condition     = google_service_account_iam_member.scheduler_acts_as_tester.service_account_id == google_service_account.tester.name && google_service_account_iam_member.scheduler_acts_as_tester.member == google_service_account.scheduler.member
    error_message = "the scheduler may start builds as the tester only"
  }
  assert {
    condition     = google_cloud_scheduler_job.daily_build.http_target[0].uri == "https://cloudbuild.googleapis.com/v1/projects/test-project/locations/us-central1/triggers/test-daily:run" && google_cloud_scheduler_job.daily_build.http_target[0].oauth_token[0].service_account_email == google_service_account.scheduler.email
    error_message = "the daily build is started by the scheduler's account"
  }
  assert {
    condition     = google_storage_bucket_iam_member.build_source_deployer.member == google_service_account.deployer.member && google_storage_bucket_iam_member.build_source_deployer.role == "roles/storage.objectViewer"
    error_message = "the deployer reads a hand-run build's source from the staging bucket"
  }
  assert {
    condition     = output.deployer_service_account == google_service_account.deployer.id && output.build_staging_dir == "gs://vividly-dev-vividly-notify-dev-build-src/source"
    error_message = "DEPLOY.md's first build needs the deployer and the staging dir as outputs"
  }
}

# cloudbuild.yaml is read as YAML here so the triggers, Terraform's names and the build
# cannot drift apart (infra/ checks the file's own steps).
run "cloudbuild_yaml_agrees" {
  command = plan

  assert {
    condition = alltrue([for t in [google_cloudbuild_trigger.main, google_cloudbuild_trigger.pull_request, google_cloudbuild_trigger.manual, google_cloudbuild_trigger.daily] :
    alltrue([for k in keys(t.substitutions) : contains(keys(yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions), k)])])
    error_message = "a trigger sets a substitution cloudbuild.yaml does not define"
  }
  assert {
    condition     = yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._AR_REPO == google_artifact_registry_repository.images.repository_id && yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._STREAM_SERVICE == google_cloud_run_v2_service.stream.name && yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._FUNCTION == google_cloudfunctions2_function.function["notify"].name
    error_message = "cloudbuild.yaml's defaults must name dev's registry, service and function"
  }
  assert {
    condition     = yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._FN_RUNTIME == var.function_runtime && yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._FN_BUILD_SA == google_service_account.function_build.account_id
    error_message = "cloudbuild.yaml's function runtime and build account defaults must be Terraform's"
  }
  assert {
    condition     = strcontains(one([for s in yamldecode(file("${path.module}/../cloudbuild.yaml")).steps : s.script if s.id == "deploy-function"]), "--entry-point=${google_cloudfunctions2_function.function["notify"].build_config[0].entry_point}")
    error_message = "the deploy step's entry point differs from Terraform's"
  }
  assert {
    condition     = yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions._PUBLISH_FUNCTION == google_cloudfunctions2_function.function["publish"].name && strcontains(one([for s in yamldecode(file("${path.module}/../cloudbuild.yaml")).steps : s.script if s.id == "deploy-function"]), "gcloud functions deploy \"$_PUBLISH_FUNCTION\"") && strcontains(one([for s in yamldecode(file("${path.module}/../cloudbuild.yaml")).steps : s.script if s.id == "deploy-function"]), "--entry-point=${google_cloudfunctions2_function.function["publish"].build_config[0].entry_point} --source=build/function")
    error_message = "the deploy step must deploy the Publish function (Terraform's name and entry point) from the same source"
  }
  # One function per entry point (function.tf's local.functions): each must have its
  # cloudbuild.yaml substitution, or a function added there would never get code.
  assert {
    condition     = toset([for k in ["_FUNCTION", "_PUBLISH_FUNCTION"] : yamldecode(file("${path.module}/../cloudbuild.yaml")).substitutions[k]]) == toset([for f in values(google_cloudfunctions2_function.function) : f.name])
    error_message = "cloudbuild.yaml's _FUNCTION and _PUBLISH_FUNCTION must name exactly the functions Terraform declares"
  }
  assert {
    condition     = strcontains(one([for s in yamldecode(file("${path.module}/../cloudbuild.yaml")).steps : s.script if s.id == "deploy-function"]), "--build-service-account=\"projects/$PROJECT_ID/serviceAccounts/$_FN_BUILD_SA@$PROJECT_ID.iam.gserviceaccount.com\"")
    error_message = "the deploy step must build the function as the build account"
  }
  assert {
    condition     = strcontains(one([for s in yamldecode(file("${path.module}/../cloudbuild.yaml")).steps : s.script if s.id == "deploy-stream"]), "--container=${google_cloud_run_v2_service.stream.template[0].containers[0].name}")
    error_message = "the deploy step must target Terraform's stream container"
  }
  # The entry points' names are Go constants (…EntryPoint = "Notify") in the function's
  # package or in notifier/, whichever holds them; test files do not count.
  assert {
    condition = alltrue([for f in values(google_cloudfunctions2_function.function) :
      can(regex("EntryPoint\\s*=\\s*\"${f.build_config[0].entry_point}\"", join("\n", [for g in setunion(fileset("${path.module}/../functions", "*.go"), [for n in fileset("${path.module}/../functions/notifier", "*.go") : "notifier/${n}"]) : file("${path.module}/../functions/${g}") if !endswith(g, "_test.go")])))
    ])
    error_message = "the function source does not name Terraform's entry points (Notify, Publish)"
  }
}

# Every service account must wait for the API enablement: a plan targeting the
# account alone must include google_project_service.apis. (Were the dependency
# missing, Terraform 1.11 would abort this run with "no expansion has been
# registered for google_project_service.apis" instead of a failed assertion; either
# way the test fails.)
run "stream_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.stream]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.stream does not wait for the IAM API"
  }
}

run "function_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.function]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.function does not wait for the IAM API"
  }
}

run "build_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.function_build]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.function_build does not wait for the IAM API"
  }
}

run "trigger_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.trigger]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.trigger does not wait for the IAM API"
  }
}

run "publish_trigger_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.publish_trigger]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.publish_trigger does not wait for the IAM API"
  }
}

run "deployer_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.deployer]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.deployer does not wait for the IAM API"
  }
}

run "tester_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.tester]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.tester does not wait for the IAM API"
  }
}

run "scheduler_account_waits_for_apis" {
  command = plan
  plan_options {
    target = [google_service_account.scheduler]
  }
  assert {
    condition     = google_project_service.apis["iam.googleapis.com"].service == "iam.googleapis.com"
    error_message = "google_service_account.scheduler does not wait for the IAM API"
  }
}

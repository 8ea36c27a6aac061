# The SSE service. Terraform owns its configuration; Cloud Build owns the image
# (gcloud run deploy --image), so image drift is ignored below.
resource "google_cloud_run_v2_service" "stream" {
  name                = "${local.name}-stream"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL" # browsers connect directly; every stream needs a JWT
  deletion_protection = local.is_prod
  # Public without an allUsers binding (refused under the Domain Restricted Sharing
  # org policy): Cloud Run skips its invoker IAM check and the service itself
  # authenticates every request with the backend's JWT or a ticket.
  invoker_iam_disabled = true

  template {
    service_account                  = google_service_account.stream.email
    max_instance_request_concurrency = var.stream_concurrency # one open stream = one request
    timeout                          = "3600s"                # the maximum; streams end on their own before it
    # Second generation: a full Linux network stack, so the metrics sidecar reaches the
    # stream container's loopback listener (the first generation's sandbox need not
    # route it, and then no series arrive and the PromQL alerts stay silent).
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.stream_min_instances
      max_instance_count = var.stream_max_instances
    }

    vpc_access {
      connector = var.stream_vpc_egress == "connector" ? google_vpc_access_connector.main.id : null
      egress    = "PRIVATE_RANGES_ONLY"

      dynamic "network_interfaces" {
        for_each = var.stream_vpc_egress == "direct" ? [1] : []
        content {
          network    = google_compute_network.main.id
          subnetwork = google_compute_subnetwork.redis.id
          tags       = [var.redis_client_tag] # admitted by the Redis egress rule (network.tf)
        }
      }
    }

    containers {
      name  = "stream"
      image = var.stream_image

      # The only port Cloud Run routes requests to. It serves no /metrics: the
      # container serves Prometheus metrics on METRICS_ADDR (loopback only), which
      # the sidecar below scrapes.
      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.stream_cpu
          memory = var.stream_memory
        }
        # Instance-based billing: the shared Redis subscriber and heartbeats run
        # between requests, which request-based billing would throttle.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.stream_env
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = "REDIS_ADDR"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.redis["redis-addr"].secret_id
            version = google_secret_manager_secret_version.redis["redis-addr"].version
          }
        }
      }

      dynamic "env" {
        for_each = local.redis_auth_string ? [1] : []
        content {
          name = "REDIS_PASSWORD"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.redis["redis-auth"].secret_id
              version = google_secret_manager_secret_version.redis["redis-auth"].version
            }
          }
        }
      }

      dynamic "env" {
        for_each = local.jwt_from_secret ? [1] : []
        content {
          name = "JWT_SECRET"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.jwt[0].secret_id
              version = "latest"
            }
          }
        }
      }

      dynamic "env" {
        for_each = local.push_enabled ? [1] : []
        content {
          name = "VAPID_PRIVATE_KEY"
          value_source {
            secret_key_ref {
              secret = google_secret_manager_secret.vapid[0].secret_id
              # Pinned: an env-var secret resolves when an instance starts, so with
              # "latest" new instances of the old revision would pick up a key the
              # old public key does not match (docs/RUNBOOK.md, "Rotating the VAPID keys").
              version = var.vapid_private_key_version
            }
          }
        }
      }

      dynamic "env" {
        for_each = local.push_rotating ? [1] : []
        content {
          name = "VAPID_PREVIOUS_PRIVATE_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.vapid[0].secret_id
              version = var.vapid_previous_private_key_version
            }
          }
        }
      }

      dynamic "volume_mounts" {
        for_each = local.redis_tls ? [1] : []
        content {
          name       = "redis-ca"
          mount_path = local.redis_ca_dir
        }
      }

      startup_probe {
        http_get {
          path = "/readyz"
        }
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 1
        failure_threshold     = 30
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 15
        timeout_seconds   = 2
        failure_threshold = 3
      }
    }

    # Google Cloud Managed Service for Prometheus: scrapes the stream container's
    # loopback metrics port (the containers of an instance share one network
    # namespace) as its RunMonitoring config says, and writes the series to Cloud
    # Monitoring (monitoring.tf). The sidecar reads that config from
    # /etc/rungmp/config.yaml; without it, it would scrape :8080/metrics.
    containers {
      name       = "metrics"
      image      = var.metrics_sidecar_image
      depends_on = ["stream"]

      # A whole vCPU: Cloud Run allows less than 1 only with request-based billing,
      # concurrency 1 and the first generation (cloud.google.com/run/docs/configuring/
      # services/cpu), none of which this service uses.
      resources {
        limits = {
          cpu    = "1"
          memory = "256Mi"
        }
        cpu_idle = false
      }

      volume_mounts {
        name       = "rungmp-config"
        mount_path = "/etc/rungmp"
      }
    }

    volumes {
      name = "rungmp-config"
      secret {
        secret = google_secret_manager_secret.metrics_config.secret_id
        items {
          # A pinned version, so a changed scrape config rolls a new revision.
          version = google_secret_manager_secret_version.metrics_config.version
          path    = "config.yaml"
        }
      }
    }

    dynamic "volumes" {
      for_each = local.redis_tls ? [1] : []
      content {
        name = "redis-ca"
        secret {
          secret = google_secret_manager_secret.redis["redis-ca"].secret_id
          items {
            version = google_secret_manager_secret_version.redis["redis-ca"].version
            path    = local.redis_ca_file
          }
        }
      }
    }
  }

  lifecycle {
    # Direct VPC egress takes about two addresses per instance from the subnet
    # (cloud.google.com/run/docs/configuring/vpc-direct-vpc), and during a rollout the
    # old and the new revision run side by side: four per instance, beyond the four
    # addresses Google reserves in every subnet.
    precondition {
      condition     = var.stream_vpc_egress != "direct" || pow(2, 32 - tonumber(split("/", var.redis_subnet_cidr)[1])) - 4 >= 4 * var.stream_max_instances
      error_message = "With stream_vpc_egress = \"direct\", redis_subnet_cidr (${var.redis_subnet_cidr}) must hold 4 addresses per stream instance (2 per instance, times 2 revisions during a rollout): ${4 * var.stream_max_instances} for ${var.stream_max_instances} instances. Use a larger subnet or the connector."
    }
    ignore_changes = [
      template[0].containers[0].image, # Cloud Build deploys images
      client,
      client_version,
    ]
  }

  depends_on = [
    google_secret_manager_secret_version.redis,
    google_secret_manager_secret_iam_member.redis_stream,
    google_secret_manager_secret_iam_member.jwt_stream,
    google_secret_manager_secret_iam_member.metrics_config_stream,
    # Cloud Run checks that the runtime account can read every secret it names when
    # it deploys a revision, and fails the deploy if not.
    google_secret_manager_secret_iam_member.vapid_stream,
  ]
}

locals {
  stream_env = merge(
    {
      GOOGLE_CLOUD_PROJECT = var.project_id
      LOG_LEVEL            = var.log_level
      ALLOWED_ORIGINS      = join(",", var.allowed_origins)
      MAX_CONNS            = tostring(var.stream_concurrency)
      MAX_CONNS_PER_USER   = tostring(var.max_conns_per_user)
      # Cloud Run's front end is one proxy hop in front of the container.
      TRUSTED_PROXY_HOPS = "1"
      # Streams end before Cloud Run's 3600 s request timeout, with jitter.
      MAX_CONN_AGE = "55m"
      # Prometheus metrics on loopback only, never on the public port.
      METRICS_ADDR = local.metrics_addr
    },
    local.redis_tls ? { REDIS_TLS_CA = "${local.redis_ca_dir}/${local.redis_ca_file}" } : {},
    local.redis_mode_env,
    var.jwt_jwks_url != "" ? { JWT_JWKS_URL = var.jwt_jwks_url } : {},
    var.jwt_issuer != "" ? { JWT_ISSUER = var.jwt_issuer } : {},
    var.jwt_audience != "" ? { JWT_AUDIENCE = var.jwt_audience } : {},
    local.push_env,
    local.fcm_env,
  )
}

# What the metrics sidecar scrapes: the stream container's loopback metrics port.
locals {
  metrics_port = 9090
  metrics_addr = "127.0.0.1:${local.metrics_port}"

  metrics_scrape_config = yamlencode({
    apiVersion = "monitoring.googleapis.com/v1beta"
    kind       = "RunMonitoring"
    metadata   = { name = "${local.name}-stream" }
    spec = {
      endpoints = [{ port = tostring(local.metrics_port), path = "/metrics", interval = "30s" }]
    }
  })
}

resource "google_secret_manager_secret" "metrics_config" {
  secret_id = "${local.name}-rungmp-config"

  replication {
    user_managed {
      replicas {
        location = var.region # in-region only (secrets.tf says why)
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "metrics_config" {
  secret      = google_secret_manager_secret.metrics_config.id
  secret_data = local.metrics_scrape_config
}

resource "google_secret_manager_secret_iam_member" "metrics_config_stream" {
  secret_id = google_secret_manager_secret.metrics_config.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.stream.member
}

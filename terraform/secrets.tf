# What the services need to reach Redis and to verify users' tokens. Values Terraform
# knows (the Redis address, AUTH string and CA) are written here; the JWT secret is the
# existing backend's, so its value is added out of band (docs/DEPLOY.md) and Terraform
# only owns the secret and who may read it.
locals {
  redis_secrets = merge(
    { redis-addr = local.redis_addr },
    local.redis_auth_string ? { redis-auth = google_redis_instance.main[0].auth_string } : {},
    local.redis_tls ? { redis-ca = local.redis_ca_pem } : {},
  )
  # Keys known at plan time (values are not), so for_each can use them.
  redis_secret_ids = toset(concat(
    ["redis-addr"],
    local.redis_auth_string ? ["redis-auth"] : [], # the cluster has no AUTH string (IAM instead)
    local.redis_tls ? ["redis-ca"] : [],
  ))
  jwt_from_secret = var.jwt_jwks_url == ""
}

# Every secret is replicated in the region only (user-managed): automatic replication
# stores copies in locations Google picks, which an organisation policy restricting
# resource locations (constraints/gcp.resourceLocations) refuses at create time.
# Replication cannot change in place: on an existing deployment this replaces the
# secrets (docs/DEPLOY.md, "Secrets in the region").
resource "google_secret_manager_secret" "redis" {
  for_each  = local.redis_secret_ids
  secret_id = "${local.name}-${each.key}"

  replication {
    user_managed {
      replicas {
        location = var.region # in-region only (see above)
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "redis" {
  for_each    = local.redis_secret_ids
  secret      = google_secret_manager_secret.redis[each.key].id
  secret_data = local.redis_secrets[each.key]
}

resource "google_secret_manager_secret" "jwt" {
  count     = local.jwt_from_secret ? 1 : 0
  secret_id = "${local.name}-jwt-secret"

  replication {
    user_managed {
      replicas {
        location = var.region # in-region only (see above)
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# Readable by the two runtime accounts only, secret by secret (no project-wide role).
resource "google_secret_manager_secret_iam_member" "redis_stream" {
  for_each  = local.redis_secret_ids
  secret_id = google_secret_manager_secret.redis[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.stream.member
}

resource "google_secret_manager_secret_iam_member" "redis_function" {
  for_each  = local.redis_secret_ids
  secret_id = google_secret_manager_secret.redis[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function.member
}

resource "google_secret_manager_secret_iam_member" "jwt_stream" {
  count     = local.jwt_from_secret ? 1 : 0
  secret_id = google_secret_manager_secret.jwt[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.stream.member
}

# The services', monitoring's and the build's inputs (variables.tf has the project,
# network, Memorystore and connector). Validations that name var.environment need
# Terraform 1.9 or newer (versions.tf).

# --- Stream service ------------------------------------------------------------

variable "stream_service_account_id" {
  description = "Account ID of the stream service's own service account (created here)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.stream_service_account_id))
    error_message = "stream_service_account_id must be 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "stream_image" {
  description = "Image for the first deploy only; Cloud Build deploys every later image and Terraform ignores the difference."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/hello"
}

variable "stream_min_instances" {
  description = "Instances kept warm (each holds up to stream_concurrency streams)."
  type        = number
  validation {
    condition     = var.stream_min_instances >= 0 && var.stream_min_instances <= 100
    error_message = "stream_min_instances must be from 0 to 100."
  }
}

variable "stream_max_instances" {
  description = "Upper bound on instances; with concurrency 1000, 100 instances hold 100,000 streams."
  type        = number
  validation {
    condition     = var.stream_max_instances >= 1 && var.stream_max_instances <= 1000
    error_message = "stream_max_instances must be from 1 to 1000."
  }
  validation {
    condition     = var.stream_max_instances >= var.stream_min_instances
    error_message = "stream_max_instances must be at least stream_min_instances."
  }
}

variable "stream_cpu" {
  description = "vCPUs per stream instance."
  type        = string
  default     = "1"
  validation {
    condition     = contains(["1", "2", "4", "8"], var.stream_cpu)
    error_message = "stream_cpu must be 1, 2, 4 or 8."
  }
}

variable "stream_memory" {
  description = "Memory per stream instance (Cloud Run syntax, e.g. 512Mi, 1Gi)."
  type        = string
  default     = "512Mi"
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.stream_memory))
    error_message = "stream_memory must look like 512Mi or 1Gi."
  }
}

variable "stream_concurrency" {
  description = "Open streams per instance (each is one request); Cloud Run allows at most 1000."
  type        = number
  default     = 1000
  validation {
    condition     = var.stream_concurrency >= 1 && var.stream_concurrency <= 1000
    error_message = "stream_concurrency must be from 1 to 1000."
  }
}

variable "max_conns_per_user" {
  description = "Open streams one user may hold across all instances (MAX_CONNS_PER_USER)."
  type        = number
  default     = 10
  validation {
    condition     = var.max_conns_per_user >= 1 && var.max_conns_per_user <= 100
    error_message = "max_conns_per_user must be from 1 to 100."
  }
}

variable "allowed_origins" {
  description = "Browser origins allowed to call the service (CORS, cookies), e.g. https://app.vividly.example."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for o in var.allowed_origins : can(regex("^https?://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "Each allowed origin must be scheme://host[:port] with no path and no wildcard."
  }
}

variable "jwt_jwks_url" {
  description = "JWKS URL of the backend's RS256/ES256 keys; empty means HS256 with the jwt-secret secret."
  type        = string
  default     = ""
  validation {
    condition     = var.jwt_jwks_url == "" || startswith(var.jwt_jwks_url, "https://")
    error_message = "jwt_jwks_url must be empty or an https:// URL."
  }
}

variable "jwt_issuer" {
  description = "Required iss claim (empty: not checked; prod must set it)."
  type        = string
  default     = ""
  validation {
    condition     = var.environment != "prod" || trimspace(var.jwt_issuer) != ""
    error_message = "prod must set jwt_issuer to the iss claim the backend puts in its tokens (environments/prod.tfvars): without it any token signed with the key is accepted, whoever it was issued by."
  }
}

variable "jwt_audience" {
  description = "Required aud claim (empty: not checked; prod must set it)."
  type        = string
  default     = ""
  validation {
    condition     = var.environment != "prod" || trimspace(var.jwt_audience) != ""
    error_message = "prod must set jwt_audience to the aud claim the backend puts in tokens meant for this service (environments/prod.tfvars): without it a token issued for another service is accepted."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of both services (debug is for development)."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "metrics_sidecar_image" {
  description = "Managed Service for Prometheus collector for Cloud Run; it scrapes the stream container's loopback metrics port (stream.tf), never the public one."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0"
}

# --- Function ------------------------------------------------------------------

variable "content_job_topic" {
  description = "The EXISTING content-job completion topic, projects/P/topics/T; never created or changed here."
  type        = string
  validation {
    condition     = can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.content_job_topic))
    error_message = "content_job_topic must be a full topic name: projects/PROJECT/topics/TOPIC."
  }
}

variable "function_runtime" {
  description = "Go runtime of the function."
  type        = string
  default     = "go126"
  validation {
    condition     = contains(["go125", "go126", "go127"], var.function_runtime)
    error_message = "function_runtime must be go125, go126 or go127 (the module needs Go 1.25 or newer)."
  }
}

variable "function_min_instances" {
  description = "Instances kept warm, for each of the two functions (Notify and Publish)."
  type        = number
  default     = 0
  validation {
    condition     = var.function_min_instances >= 0 && var.function_min_instances <= 100
    error_message = "function_min_instances must be from 0 to 100."
  }
}

variable "function_max_instances" {
  description = "Upper bound on instances, for each of the two functions (Notify and Publish); each takes up to 32 events at a time (function.tf says why)."
  type        = number
  default     = 50
  validation {
    condition     = var.function_max_instances >= 1 && var.function_max_instances <= 1000 && var.function_max_instances >= var.function_min_instances
    error_message = "function_max_instances must be from 1 to 1000 and at least function_min_instances."
  }
}

variable "function_source_zip" {
  description = "Archive of the function's first deploy, made by `make function-zip` (path from terraform/)."
  type        = string
  default     = "../build/function.zip"
  validation {
    condition     = endswith(var.function_source_zip, ".zip")
    error_message = "function_source_zip must be a .zip file (make function-zip)."
  }
}

variable "dead_letter_max_attempts" {
  description = "Deliveries of one event (a job event to Notify, a notification to Publish) before it goes to that function's dead-letter topic (Pub/Sub allows 5-100)."
  type        = number
  default     = 10
  validation {
    condition     = var.dead_letter_max_attempts >= 5 && var.dead_letter_max_attempts <= 100
    error_message = "dead_letter_max_attempts must be from 5 to 100."
  }
}

# --- Notifications from other services (Publish, publish.tf) ------------------

variable "notifications_topic" {
  description = "Name of the topic other services publish notifications to (docs/PROTOCOL.md: notifications), created here in project_id; publishers use projects/PROJECT/topics/NAME (output notifications_topic). Give dev and prod different names only if they share a project."
  type        = string
  default     = "notifications"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.notifications_topic)) && !startswith(lower(var.notifications_topic), "goog")
    error_message = "notifications_topic must be a Pub/Sub topic name (not a full projects/.../topics/... path): 3-255 letters, digits or ._~+%-, starting with a letter and not with goog."
  }
}

variable "notification_publishers" {
  description = "Emails of the service accounts that may publish to the notifications topic (roles/pubsub.publisher on that topic only), e.g. grading@vividly-prod.iam.gserviceaccount.com. Nobody else is granted publish here; empty: nobody."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.notification_publishers : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9.-]*[a-z0-9]\\.iam\\.gserviceaccount\\.com$", e))])
    error_message = "Each notification publisher must be the email of a user-managed service account, NAME@PROJECT.iam.gserviceaccount.com, without a serviceAccount: prefix (default accounts such as PROJECT_NUMBER-compute@developer.gserviceaccount.com run too much to be named here: give the publishing service an account of its own)."
  }
}

# --- Monitoring ----------------------------------------------------------------

variable "alert_notification_channels" {
  description = "Notification channels of every alert: projects/P/notificationChannels/ID (list them with `gcloud beta monitoring channels list`). prod needs at least one."
  type        = list(string)
  default     = []
  validation {
    condition     = !anytrue([for c in var.alert_notification_channels : strcontains(c, "REPLACE_WITH")])
    error_message = "alert_notification_channels still holds the placeholder from environments/prod.tfvars: replace it with a real channel, projects/PROJECT/notificationChannels/ID (gcloud beta monitoring channels list --format='value(name)')."
  }
  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c)) || strcontains(c, "REPLACE_WITH")])
    error_message = "Each notification channel must be projects/PROJECT/notificationChannels/ID."
  }
  validation {
    condition     = var.environment != "prod" || length(var.alert_notification_channels) > 0
    error_message = "prod must name at least one alert notification channel: otherwise every alert fires into the void."
  }
}

variable "alert_delivery_p99_ms" {
  description = "Alert when the p99 of creation-to-browser delivery exceeds this (plan target: 50 ms)."
  type        = number
  default     = 50
  validation {
    condition     = var.alert_delivery_p99_ms > 0
    error_message = "alert_delivery_p99_ms must be positive."
  }
}

variable "alert_connection_errors_per_s" {
  description = "Alert when stream requests fail faster than this across the service."
  type        = number
  default     = 5
  validation {
    condition     = var.alert_connection_errors_per_s > 0
    error_message = "alert_connection_errors_per_s must be positive."
  }
}

# --- Build and deploy ----------------------------------------------------------

variable "github_owner" {
  description = "GitHub owner of the repository the Cloud Build triggers watch (connected to Cloud Build beforehand)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repo" {
  description = "GitHub repository name."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repo))
    error_message = "github_repo must be a GitHub repository name."
  }
}

variable "daily_build_schedule" {
  description = "Cron schedule (UTC) of the daily full test run."
  type        = string
  default     = "0 3 * * *"
  validation {
    condition     = length(split(" ", var.daily_build_schedule)) == 5
    error_message = "daily_build_schedule must be a five-field cron expression."
  }
}

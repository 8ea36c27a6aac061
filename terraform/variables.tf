# Every input, with the checks that would otherwise fail late (mid-apply, or at the
# first connection). environments/dev.tfvars and prod.tfvars hold the plan's values.

# --- Project -------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project that hosts the system."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for every regional resource (the plan: us-central1)."
  type        = string
  default     = "us-central1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1."
  }
}

variable "environment" {
  description = "dev or prod; part of every resource name."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "name_prefix" {
  description = "Prefix of resource names (kept short: service-account IDs allow 30 characters)."
  type        = string
  default     = "vividly-notify"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-15 lowercase letters, digits or hyphens, starting with a letter."
  }
}

# --- Network -------------------------------------------------------------------

variable "redis_subnet_cidr" {
  description = "The Redis subnet (plan: 10.10.0.0/24), with flow logs."
  type        = string
  default     = "10.10.0.0/24"
  validation {
    condition     = can(cidrnetmask(var.redis_subnet_cidr)) && can(cidrhost(var.redis_subnet_cidr, 0)) && try(cidrhost(var.redis_subnet_cidr, 0) == split("/", var.redis_subnet_cidr)[0], false)
    error_message = "redis_subnet_cidr must be an IPv4 network in CIDR form with no host bits set, such as 10.10.0.0/24."
  }
}

variable "connector_subnet_cidr" {
  description = "Subnet of the Serverless VPC Access connector; Google requires a /28."
  type        = string
  default     = "10.10.1.0/28"
  validation {
    condition     = can(cidrnetmask(var.connector_subnet_cidr)) && endswith(var.connector_subnet_cidr, "/28") && try(cidrhost(var.connector_subnet_cidr, 0) == split("/", var.connector_subnet_cidr)[0], false)
    error_message = "connector_subnet_cidr must be a /28 IPv4 network with no host bits set, such as 10.10.1.0/28."
  }
  validation {
    condition     = var.connector_subnet_cidr != var.redis_subnet_cidr
    error_message = "connector_subnet_cidr must differ from redis_subnet_cidr."
  }
}

variable "redis_reserved_ip_range" {
  description = "Peered range Memorystore takes its address from (DIRECT_PEERING): a /29, or a /28 for read replicas; must overlap no subnet."
  type        = string
  default     = "10.10.2.0/28"
  validation {
    condition     = can(cidrnetmask(var.redis_reserved_ip_range)) && (endswith(var.redis_reserved_ip_range, "/28") || endswith(var.redis_reserved_ip_range, "/29")) && try(cidrhost(var.redis_reserved_ip_range, 0) == split("/", var.redis_reserved_ip_range)[0], false)
    error_message = "redis_reserved_ip_range must be a /28 or /29 IPv4 network with no host bits set."
  }
  validation {
    condition     = !contains([var.redis_subnet_cidr, var.connector_subnet_cidr], var.redis_reserved_ip_range)
    error_message = "redis_reserved_ip_range must not be one of the subnets."
  }
}

variable "redis_target_tag" {
  description = "Network tag the Redis firewall rules target."
  type        = string
  default     = "redis"
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.redis_target_tag))
    error_message = "redis_target_tag must be a valid network tag (lowercase letters, digits, hyphens)."
  }
}

variable "health_check_target_tag" {
  description = "Network tag of instances Google's health checkers may reach."
  type        = string
  default     = "health-check"
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.health_check_target_tag))
    error_message = "health_check_target_tag must be a valid network tag (lowercase letters, digits, hyphens)."
  }
}

variable "stream_vpc_egress" {
  description = "How the stream service reaches Redis: through the connector (the plan) or with Direct VPC egress."
  type        = string
  default     = "connector"
  validation {
    condition     = contains(["connector", "direct"], var.stream_vpc_egress)
    error_message = "stream_vpc_egress must be connector or direct."
  }
}

# --- Memorystore ---------------------------------------------------------------

variable "redis_tier" {
  description = "BASIC (dev: one node) or STANDARD_HA (prod: replicated with failover)."
  type        = string
  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.redis_tier)
    error_message = "redis_tier must be BASIC or STANDARD_HA."
  }
}

variable "redis_memory_size_gb" {
  description = "Memorystore size in GB (plan: 1 dev, 5 prod)."
  type        = number
  validation {
    condition     = var.redis_memory_size_gb >= 1 && var.redis_memory_size_gb <= 300 && floor(var.redis_memory_size_gb) == var.redis_memory_size_gb
    error_message = "redis_memory_size_gb must be a whole number from 1 to 300."
  }
}

variable "redis_version" {
  description = "Redis 7 (the broker needs streams, XDEL trimming and GETDEL)."
  type        = string
  default     = "REDIS_7_0"
  validation {
    condition     = contains(["REDIS_7_0", "REDIS_7_2"], var.redis_version)
    error_message = "redis_version must be REDIS_7_0 or REDIS_7_2."
  }
}

variable "redis_max_clients" {
  description = "Redis maxclients (plan: 10000 dev, 50000 prod)."
  type        = number
  validation {
    condition     = var.redis_max_clients >= 1000 && var.redis_max_clients <= 65000 && floor(var.redis_max_clients) == var.redis_max_clients
    error_message = "redis_max_clients must be a whole number from 1000 to 65000."
  }
}

variable "redis_auth_enabled" {
  description = "Require Memorystore's AUTH string (on in prod)."
  type        = bool
  default     = true
}

variable "redis_transit_encryption" {
  description = "TLS to Memorystore (on in prod). Only settable at creation: changing it replaces the instance."
  type        = bool
  default     = true
}

variable "redis_deletion_protection" {
  description = "Refuse to delete the Redis instance (on in prod)."
  type        = bool
  default     = true
}

# --- Serverless VPC Access connector -------------------------------------------

variable "connector_machine_type" {
  description = "Connector machine type (plan: e2-micro dev, e2-standard-4 prod)."
  type        = string
  validation {
    condition     = contains(["f1-micro", "e2-micro", "e2-standard-4"], var.connector_machine_type)
    error_message = "connector_machine_type must be f1-micro, e2-micro or e2-standard-4."
  }
}

variable "connector_min_instances" {
  description = "Connector minimum instances (2-9, below the maximum)."
  type        = number
  default     = 2
  validation {
    condition     = var.connector_min_instances >= 2 && var.connector_min_instances <= 9 && floor(var.connector_min_instances) == var.connector_min_instances
    error_message = "connector_min_instances must be a whole number from 2 to 9."
  }
}

variable "connector_max_instances" {
  description = "Connector maximum instances (3-10, above the minimum)."
  type        = number
  default     = 10
  validation {
    condition     = var.connector_max_instances >= 3 && var.connector_max_instances <= 10 && floor(var.connector_max_instances) == var.connector_max_instances
    error_message = "connector_max_instances must be a whole number from 3 to 10."
  }
  validation {
    condition     = var.connector_max_instances > var.connector_min_instances
    error_message = "connector_max_instances must be greater than connector_min_instances."
  }
}

variable "connector_max_throughput" {
  description = "Throughput the connector is sized for, in Mbps (plan: 300 dev, 1000 prod); the saturation alert fires at 80 % of it."
  type        = number
  validation {
    condition     = var.connector_max_throughput >= 200 && var.connector_max_throughput <= 1000 && var.connector_max_throughput % 100 == 0
    error_message = "connector_max_throughput must be a multiple of 100 from 200 to 1000 (Mbps)."
  }
}

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
  description = "Required iss claim (empty: not checked)."
  type        = string
  default     = ""
}

variable "jwt_audience" {
  description = "Required aud claim (empty: not checked)."
  type        = string
  default     = ""
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
  description = "Managed Service for Prometheus collector for Cloud Run (scrapes :8080/metrics)."
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
    condition     = contains(["go125", "go126"], var.function_runtime)
    error_message = "function_runtime must be go125 or go126 (the module needs Go 1.25 or newer)."
  }
}

variable "function_min_instances" {
  description = "Function instances kept warm."
  type        = number
  default     = 0
  validation {
    condition     = var.function_min_instances >= 0 && var.function_min_instances <= 100
    error_message = "function_min_instances must be from 0 to 100."
  }
}

variable "function_max_instances" {
  description = "Upper bound on function instances; each takes one event at a time (function.tf says why)."
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
  description = "Deliveries of one job event before it goes to the dead-letter topic (Pub/Sub allows 5-100)."
  type        = number
  default     = 10
  validation {
    condition     = var.dead_letter_max_attempts >= 5 && var.dead_letter_max_attempts <= 100
    error_message = "dead_letter_max_attempts must be from 5 to 100."
  }
}

# --- Monitoring ----------------------------------------------------------------

variable "alert_notification_channels" {
  description = "Notification channels of every alert: projects/P/notificationChannels/ID."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "Each notification channel must be projects/PROJECT/notificationChannels/ID."
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

# Every input, with the checks that would otherwise fail late (mid-apply, or at the
# first connection). environments/dev.tfvars and prod.tfvars hold the plan's values;
# variables_services.tf holds the services', monitoring's and the build's.

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
  description = "Peered range Memorystore takes its addresses from (DIRECT_PEERING): a /29. Only read replicas (not enabled here) need a /28; must overlap no subnet."
  type        = string
  default     = "10.10.2.0/29"
  validation {
    condition     = can(cidrnetmask(var.redis_reserved_ip_range)) && endswith(var.redis_reserved_ip_range, "/29") && try(cidrhost(var.redis_reserved_ip_range, 0) == split("/", var.redis_reserved_ip_range)[0], false)
    error_message = "redis_reserved_ip_range must be a /29 IPv4 network with no host bits set (a /28 is only for read replicas, which this configuration does not enable)."
  }
  validation {
    condition     = !contains([var.redis_subnet_cidr, var.connector_subnet_cidr], var.redis_reserved_ip_range)
    error_message = "redis_reserved_ip_range must not be one of the subnets."
  }
}

variable "redis_client_tag" {
  description = "Network tag of workloads inside the VPC that may open connections to Redis (Direct VPC egress instances carry it; tag an operator VM with it too). Everything else in the VPC is denied egress to Redis."
  type        = string
  default     = "redis-client"
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.redis_client_tag))
    error_message = "redis_client_tag must be a valid network tag (lowercase letters, digits, hyphens)."
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

variable "redis_client_budget" {
  description = "Connected clients the deployment is planned for (plan: 10000 dev, 50000 prod); the connections alert fires at 90 % of it. Not a Redis setting: Memorystore for Redis fixes maxclients at 65,000 and refuses the parameter."
  type        = number
  validation {
    condition     = var.redis_client_budget >= 1000 && var.redis_client_budget <= 65000 && floor(var.redis_client_budget) == var.redis_client_budget
    error_message = "redis_client_budget must be a whole number from 1000 to 65000 (Memorystore's fixed client limit)."
  }
}

variable "redis_auth_enabled" {
  description = "Require authentication (on in prod): the instance's AUTH string in standalone mode, IAM authentication (roles/redis.dbConnectionUser, REDIS_IAM_AUTH) in cluster mode."
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

variable "redis_rdb_snapshot_period" {
  description = "Memorystore RDB persistence: ONE_HOUR, SIX_HOURS, TWELVE_HOURS or TWENTY_FOUR_HOURS between snapshots; empty turns persistence off (dev). Required in prod: Redis is the only store of every student's history (and Phase 2's read state and preferences)."
  type        = string
  default     = ""
  validation {
    condition     = contains(["", "ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"], var.redis_rdb_snapshot_period)
    error_message = "redis_rdb_snapshot_period must be empty, ONE_HOUR, SIX_HOURS, TWELVE_HOURS or TWENTY_FOUR_HOURS."
  }
  validation {
    condition     = var.environment != "prod" || var.redis_rdb_snapshot_period != ""
    error_message = "prod must set redis_rdb_snapshot_period: without RDB persistence a restart of the instance loses every student's history (and Phase 2's read state and preferences)."
  }
}

# --- Serverless VPC Access connector -------------------------------------------

variable "connector_machine_type" {
  description = "Connector machine type (plan: e2-micro dev, e2-standard-4 prod); with connector_max_instances it sets the capacity the saturation alert measures against (monitoring.tf)."
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

# Which Memorystore product holds the data, and the cluster's shape (docs/DEPLOY.md,
# "Choosing the Redis mode"). The standalone-only inputs (redis_tier,
# redis_memory_size_gb, redis_version, redis_reserved_ip_range) are ignored in cluster
# mode; redis_auth_enabled, redis_transit_encryption, redis_rdb_snapshot_period and
# redis_deletion_protection apply to both.

variable "redis_mode" {
  description = "standalone: one Memorystore for Redis instance (google_redis_instance, the plan's setup). cluster: Memorystore for Redis Cluster (sharded, online shard scaling, reached through Private Service Connect)."
  type        = string
  default     = "standalone"
  validation {
    condition     = contains(["standalone", "cluster"], var.redis_mode)
    error_message = "redis_mode must be standalone or cluster."
  }
}

variable "redis_cluster_shard_count" {
  description = "Shards of the cluster (cluster mode). Each shard is one primary (one Redis thread: ~9,000 notifications/s, docs/PERFORMANCE.md) plus its replicas. Terraform sets it at creation only; after that redisscale or an operator changes it (docs/RUNBOOK.md, \"Redis memory scaling\")."
  type        = number
  default     = 3
  validation {
    condition     = var.redis_cluster_shard_count >= 1 && var.redis_cluster_shard_count <= 250 && floor(var.redis_cluster_shard_count) == var.redis_cluster_shard_count
    error_message = "redis_cluster_shard_count must be a whole number from 1 to 250."
  }
}

variable "redis_cluster_replica_count" {
  description = "Replicas per shard (cluster mode): 0-2. At least 1 in prod, so a shard survives its primary (and the functions' WAIT has a replica to wait for)."
  type        = number
  default     = 1
  validation {
    condition     = contains([0, 1, 2], var.redis_cluster_replica_count)
    error_message = "redis_cluster_replica_count must be 0, 1 or 2."
  }
  validation {
    condition     = var.environment != "prod" || var.redis_mode != "cluster" || var.redis_cluster_replica_count >= 1
    error_message = "prod in cluster mode needs redis_cluster_replica_count >= 1: without a replica a failed shard loses its part of every student's history."
  }
}

variable "redis_cluster_node_type" {
  description = "Node type of the cluster (cluster mode); sets each shard's memory (docs/DEPLOY.md has the table)."
  type        = string
  default     = "REDIS_HIGHMEM_MEDIUM"
  validation {
    condition     = contains(["REDIS_SHARED_CORE_NANO", "REDIS_STANDARD_SMALL", "REDIS_HIGHMEM_MEDIUM", "REDIS_HIGHCPU_MEDIUM", "REDIS_STANDARD_LARGE", "REDIS_HIGHMEM_XLARGE", "REDIS_HIGHMEM_2XLARGE"], var.redis_cluster_node_type)
    error_message = "redis_cluster_node_type must be one of the provider's node types (REDIS_SHARED_CORE_NANO, REDIS_STANDARD_SMALL, REDIS_HIGHMEM_MEDIUM, REDIS_HIGHCPU_MEDIUM, REDIS_STANDARD_LARGE, REDIS_HIGHMEM_XLARGE, REDIS_HIGHMEM_2XLARGE)."
  }
  validation {
    condition     = var.environment != "prod" || var.redis_cluster_node_type != "REDIS_SHARED_CORE_NANO"
    error_message = "REDIS_SHARED_CORE_NANO is a shared-core node for development; prod needs a dedicated node type."
  }
}

variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 6379 (control plane and render nodes)."
  type        = list(string)
}

variable "engine_version" {
  description = "Redis OSS engine version."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "num_cache_clusters" {
  description = "Nodes in the replication group without cluster mode: 1 (no failover) or 2+ (primary and replicas in several AZs, automatic failover); ignored in cluster mode."
  type        = number
  default     = 2
}

variable "cluster_mode" {
  description = "Redis cluster mode: keys sharded over num_shards primaries (for fleets whose Redis load outgrows one primary: terraform/README.md, Sizing). Changing it replaces the replication group."
  type        = bool
  default     = false
}

variable "num_shards" {
  description = "Shards (node groups, one primary each) in cluster mode; ignored otherwise."
  type        = number
  default     = 3

  validation {
    condition     = var.num_shards >= 1 && var.num_shards <= 500
    error_message = "num_shards must be between 1 and 500."
  }
}

variable "replicas_per_shard" {
  description = "Replicas of each shard's primary in cluster mode (0-5; 1+ gives automatic failover and multi-AZ); ignored otherwise."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas_per_shard >= 0 && var.replicas_per_shard <= 5
    error_message = "replicas_per_shard must be between 0 and 5."
  }
}

variable "auth_token" {
  description = "AUTH token (secrets module); required with in-transit encryption."
  type        = string
  sensitive   = true
}

variable "kms_key_arn" {
  description = "KMS key encrypting data at rest."
  type        = string
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots (Redis holds only rebuildable state; 1 is enough)."
  type        = number
  default     = 1
}

variable "slow_log_group_name" {
  description = "CloudWatch log group receiving the slow log (observability module)."
  type        = string
}

variable "auth_token_update_strategy" {
  description = "How a changed auth_token is applied: ROTATE (old and new both accepted) or SET (only the new one)."
  type        = string
  default     = "ROTATE"
}

variable "snapshot_window" {
  description = "Daily snapshot window, hh24:mi-hh24:mi UTC."
  type        = string
  default     = "01:00-02:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC; keep it apart from RDS's and Amazon MQ's."
  type        = string
  default     = "wed:04:00-wed:05:00"
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the cache's alarms (empty: no alarms)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

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
  description = "Nodes in the replication group: 1 (no failover) or 2+ (primary and replicas in several AZs, automatic failover)."
  type        = number
  default     = 2
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

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (at least two AZs)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the control plane's)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL version; a major version (\"15\") lets RDS pick the newest minor."
  type        = string
  default     = "15"
}

variable "parameter_group_family" {
  description = "DB parameter group family matching engine_version."
  type        = string
  default     = "postgres15"
}

variable "backup_window" {
  description = "Daily backup window, hh24:mi-hh24:mi UTC; must not overlap the maintenance window."
  type        = string
  default     = "03:00-03:30"
}

variable "maintenance_window" {
  description = "Weekly maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC; keep it apart from ElastiCache's and Amazon MQ's."
  type        = string
  default     = "tue:04:00-tue:05:00"
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the database's alarms (empty: no alarms)."
  type        = string
  default     = ""
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage" {
  description = "Initial storage, GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling, GiB."
  type        = number
  default     = 500
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "stream_manager"
}

variable "username" {
  description = "Master user name (the control plane connects as this user and runs migrations)."
  type        = string
  default     = "stream_manager"
}

variable "password" {
  description = "Master password (secrets module)."
  type        = string
  sensitive   = true
}

variable "kms_key_arn" {
  description = "KMS key encrypting storage, snapshots and Performance Insights."
  type        = string
}

variable "multi_az" {
  description = "Synchronous standby in a second AZ (prod: true)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse deletion of the instance (prod: true)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a final snapshot (disposable staging only)."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 disables)."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\"); secrets are named \"<name>/<VARIABLE>\"."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once; 7-30 otherwise)."
  type        = number
  default     = 30
}

variable "database_host" {
  description = "Postgres endpoint address (postgres module)."
  type        = string
}

variable "database_port" {
  description = "Postgres port."
  type        = number
  default     = 5432
}

variable "database_name" {
  description = "Database name."
  type        = string
}

variable "database_username" {
  description = "Postgres master user name (migrations and the app-users task only)."
  type        = string
}

variable "database_app_username" {
  description = "Postgres user of the services: DML on the application's tables, no DDL (created by the app-users task)."
  type        = string
  default     = "stream_app"
}

variable "redis_host" {
  description = "Redis primary endpoint address (redis module)."
  type        = string
}

variable "redis_port" {
  description = "Redis port."
  type        = number
  default     = 6379
}

variable "redis_cluster_mode" {
  description = "Whether ElastiCache runs in cluster mode (shards): REDIS_URL then uses the rediss+cluster:// scheme on the configuration endpoint, so the services use a cluster client."
  type        = bool
  default     = false
}

variable "amqp_endpoint" {
  description = "The broker's amqps:// endpoint, \"amqps://host:5671\" (rabbitmq module)."
  type        = string
}

variable "amqp_app_username" {
  description = "RabbitMQ user of the services (created through the management API by the app-users task; the broker's own user is the admin)."
  type        = string
  default     = "stream_app"
}

variable "app_password_rotation" {
  description = "Change this value (e.g. a date) to generate new passwords for the services' Postgres and RabbitMQ users; then run the app-users task and roll the services (terraform/README.md, Secrets)."
  type        = string
  default     = "initial"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

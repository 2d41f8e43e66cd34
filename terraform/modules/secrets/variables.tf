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
  description = "Postgres master user name."
  type        = string
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

variable "amqp_endpoint" {
  description = "The broker's amqps:// endpoint, \"amqps://host:5671\" (rabbitmq module)."
  type        = string
}

variable "amqp_username" {
  description = "RabbitMQ user name of the services."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

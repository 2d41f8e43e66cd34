variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\"); the broker is named \"<name>-rabbitmq\"."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the broker."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets: the first one for SINGLE_INSTANCE, all of them (3 AZs) for CLUSTER_MULTI_AZ."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5671 (AMQP over TLS): control plane and render nodes."
  type        = list(string)
}

variable "console_allowed_cidrs" {
  description = "CIDRs allowed to reach the RabbitMQ web console on 443 (e.g. a VPN range inside the VPC); empty: none."
  type        = list(string)
  default     = []
}

variable "engine_version" {
  description = "RabbitMQ engine version offered by Amazon MQ."
  type        = string
  default     = "3.13"
}

variable "instance_type" {
  description = "Broker instance type (clusters need mq.m5.large or larger)."
  type        = string
  default     = "mq.m5.large"
}

variable "deployment_mode" {
  description = "SINGLE_INSTANCE (staging) or CLUSTER_MULTI_AZ (prod: three nodes, quorum queues replicated)."
  type        = string
  default     = "CLUSTER_MULTI_AZ"

  validation {
    condition     = contains(["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"], var.deployment_mode)
    error_message = "deployment_mode must be SINGLE_INSTANCE or CLUSTER_MULTI_AZ."
  }
}

variable "username" {
  description = "Broker user the services connect as."
  type        = string
  default     = "stream_manager"
}

variable "password" {
  description = "Password of that user (secrets module; 12+ characters, no commas, colons or equals signs)."
  type        = string
  sensitive   = true
}

variable "management_api_security_group_ids" {
  description = "Security groups allowed to the management API on 443 (the app-users task, the render nodes' agent)."
  type        = list(string)
  default     = []
}

variable "maintenance_day" {
  description = "Day of the broker's weekly maintenance window (UTC), e.g. THURSDAY; keep it apart from RDS's and ElastiCache's."
  type        = string
  default     = "THURSDAY"
}

variable "maintenance_time" {
  description = "Start of the broker's maintenance window, HH:MM UTC (Amazon MQ takes up to 2 hours)."
  type        = string
  default     = "04:00"
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the broker's alarms (empty: no alarms)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC. Public subnets take /24s from index 0, private ones from index 100."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread subnets over (2 or 3; a multi-AZ RabbitMQ cluster needs 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, staging) instead of one per AZ (prod)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "KMS key ARN encrypting the flow log group (observability module's key)."
  type        = string
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints instead of NAT, e.g. [\"ecr.api\", \"ecr.dkr\", \"secretsmanager\", \"logs\", \"monitoring\", \"autoscaling\"] (each costs per AZ-hour); S3 always has a gateway endpoint."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

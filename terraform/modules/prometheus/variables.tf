variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the collector."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the collector task."
  type        = list(string)
}

variable "cluster_arn" {
  description = "ECS cluster the collector runs in (the control plane's)."
  type        = string
}

variable "namespace_id" {
  description = "Cloud Map private DNS namespace (the control plane's) the collector registers in."
  type        = string
}

variable "namespace_name" {
  description = "Name of that namespace, e.g. \"sm-prod.internal\"."
  type        = string
}

variable "control_plane_dns_name" {
  description = "Cloud Map name of the control-plane tasks (one A record per task), e.g. \"control-plane.sm-prod.internal\"."
  type        = string
}

variable "control_plane_port" {
  description = "Port of the control plane's /metrics (its API port)."
  type        = number
  default     = 8080
}

variable "control_plane_security_group_id" {
  description = "Security group of the control-plane tasks (scrape target)."
  type        = string
}

variable "render_nodes_asg_name" {
  description = "Autoscaling group of the render nodes: its instances are discovered through EC2 tags."
  type        = string
}

variable "render_node_port" {
  description = "The render nodes' HTTP port (METRICS_ADDR) serving /metrics."
  type        = number
  default     = 9091
}

variable "render_nodes_security_group_id" {
  description = "Security group of the render nodes (scrape target)."
  type        = string
}

variable "metrics_token_secret_arn" {
  description = "Secrets Manager ARN (version) of the render nodes' METRICS_TOKEN: injected into the collector, which sends it as the bearer token of the render-node scrapes."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key the secrets are encrypted with (the collector's execution role decrypts METRICS_TOKEN)."
  type        = string
}

variable "otlp_client_security_group_ids" {
  description = "Security groups that send OTLP traces to the collector (the services)."
  type        = list(string)
  default     = []
}

variable "collector_image" {
  description = "AWS Distro for OpenTelemetry collector image, pinned to a release."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}

variable "alert_rules_file" {
  description = "Prometheus rule file loaded into the workspace (the repository's monitoring/prometheus/alerts.yml)."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic the workspace's alert manager notifies."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the workspace's data (null: an AWS owned key)."
  type        = string
  default     = null
}

variable "logs_kms_key_arn" {
  description = "KMS key of the workspace's log group."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group of the collector's container."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the workspace's log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

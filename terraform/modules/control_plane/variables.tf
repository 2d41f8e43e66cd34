variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the Fargate tasks."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for the HTTPS listener, covering the API's domain name."
  type        = string
}

variable "image" {
  description = "Control-plane image, e.g. \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/sm-prod/control-plane:1a2b3c4\"."
  type        = string
}

variable "cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate task memory, MiB."
  type        = number
  default     = 1024
}

variable "min_tasks" {
  description = "Fewest tasks (keep 2+ for availability across AZs)."
  type        = number
  default     = 2
}

variable "max_tasks" {
  description = "Most tasks the autoscaler may run."
  type        = number
  default     = 10
}

variable "cpu_target_percent" {
  description = "Target average CPU of the service for target-tracking scaling."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Target ALB requests per task per minute for target-tracking scaling."
  type        = number
  default     = 3000
}

variable "secret_arns" {
  description = "Secrets Manager ARN by environment variable name; injected as the task's secrets (JWT_SECRET, NODE_SECRET, DATABASE_URL, REDIS_URL, AMQP_URL)."
  type        = map(string)
}

variable "secrets_kms_key_arn" {
  description = "KMS key the secrets are encrypted with (the execution role may decrypt with it)."
  type        = string
}

variable "environment" {
  description = "Extra plain environment variables of the container (JWT_AUDIENCE, INGEST_URL, SM_NAMESPACE, RUST_LOG, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, MEDIA_ROOT, ...)."
  type        = map(string)
  default     = {}
}

variable "log_group_name" {
  description = "CloudWatch log group of the containers (observability module)."
  type        = string
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to reach the load balancer on 80/443 (the API is public by default)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "alb_idle_timeout" {
  description = "Seconds an idle connection (a quiet WebSocket) stays open at the load balancer."
  type        = number
  default     = 300
}

variable "alb_deletion_protection" {
  description = "Refuse deletion of the load balancer (prod: true)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for the load balancer's access logs (observability module)."
  type        = string
}

variable "waf_log_group_arn" {
  description = "CloudWatch log group (name starts with aws-waf-logs-) for WAF logs."
  type        = string
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes one client IP may make before WAF blocks it."
  type        = number
  default     = 3000
}

variable "internal_client_security_group_ids" {
  description = "Security groups of the render nodes: they call the internal API directly on 8080 through service discovery, and the tasks fetch previews from their HTTP port (render_node_http_port)."
  type        = list(string)
  default     = []
}

variable "render_node_http_port" {
  description = "The render nodes' HTTP port (METRICS_ADDR, advertised as NODE_ADVERTISE_ADDR) that previews are fetched from."
  type        = number
  default     = 9091
}

variable "metrics_client_security_group_ids" {
  description = "Security groups (the Prometheus collector) allowed to scrape /metrics on the API port."
  type        = list(string)
  default     = []
}

variable "otlp_egress" {
  description = "Where OTLP traces go: the collector's security group, or a CIDR, on a port (empty strings: no export, no rule)."
  type = object({
    security_group_id = string
    cidr              = string
    port              = number
  })
  default = { security_group_id = "", cidr = "", port = 4318 }
}

variable "admin_secret_arns" {
  description = "The operator tasks' secrets by name (DATABASE_ADMIN_URL, DATABASE_APP_PASSWORD, AMQP_ADMIN_PASSWORD, AMQP_APP_PASSWORD): only the migrate and app-users task definitions read them."
  type        = map(string)
}

variable "database_app_username" {
  description = "Postgres user of the services, created by the app-users task."
  type        = string
}

variable "database_name" {
  description = "The application database (GRANT CONNECT)."
  type        = string
}

variable "amqp_admin_username" {
  description = "RabbitMQ admin user (the broker resource's user)."
  type        = string
}

variable "amqp_app_username" {
  description = "RabbitMQ user of the services, created by the app-users task."
  type        = string
}

variable "rabbitmq_management_api_url" {
  description = "Base URL of the broker's management API (https://…)."
  type        = string
}

variable "postgres_client_image" {
  description = "Image with psql for the app-users task, pinned (the Postgres major of RDS)."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:15.14-bookworm"
}

variable "curl_image" {
  description = "Image with curl for the app-users task's RabbitMQ step, pinned."
  type        = string
  default     = "curlimages/curl:8.14.1"
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the service's alarms."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

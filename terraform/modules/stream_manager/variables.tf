variable "name" {
  description = "Name of the deployment, prefix of every resource (e.g. \"sm-prod\"); lower case, digits and hyphens, at most 20 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name))
    error_message = "name must be lower case letters, digits and hyphens, 2-20 characters, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# ---- network ----

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones used (3 for a multi-AZ RabbitMQ cluster)."
  type        = number
  default     = 3
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway instead of one per AZ."
  type        = bool
  default     = false
}

# ---- images ----

variable "control_plane_image" {
  description = "Control-plane image URI with tag (push it to the registry module's repository)."
  type        = string
}

variable "render_node_image" {
  description = "Render-node image URI with tag."
  type        = string
}

# ---- control plane ----

variable "certificate_arn" {
  description = "ACM certificate ARN of the API's domain, in the deployment's region."
  type        = string
}

variable "control_plane_cpu" {
  description = "Fargate CPU units per control-plane task."
  type        = number
  default     = 512
}

variable "control_plane_memory" {
  description = "Fargate memory (MiB) per control-plane task."
  type        = number
  default     = 1024
}

variable "control_plane_min_tasks" {
  description = "Fewest control-plane tasks."
  type        = number
  default     = 2
}

variable "control_plane_max_tasks" {
  description = "Most control-plane tasks."
  type        = number
  default     = 10
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to reach the API's load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "jwt_audience" {
  description = "JWT_AUDIENCE: the `aud` tenant tokens must carry."
  type        = string
  default     = "stream-manager"
}

variable "namespace" {
  description = "SM_NAMESPACE: prefix of queues, exchanges and Redis keys (several deployments on one broker)."
  type        = string
  default     = ""
}

variable "log_level" {
  description = "RUST_LOG of both services."
  type        = string
  default     = "info"
}

variable "otel_exporter_otlp_endpoint" {
  description = "OTEL_EXPORTER_OTLP_ENDPOINT for trace export (empty: no export)."
  type        = string
  default     = ""
}

# ---- render nodes ----

variable "render_node_instance_type" {
  description = "EC2 instance type of the render nodes."
  type        = string
  default     = "c7i.xlarge"
}

variable "render_node_ami_id" {
  description = "AMI of the render nodes, pinned by ID (Amazon Linux 2023; see modules/render_nodes, ami_id)."
  type        = string
}

variable "render_node_capacity" {
  description = "Streams per render node (NODE_CAPACITY); from render-node/bench/ results on render_node_instance_type."
  type        = number
}

variable "render_nodes_min" {
  description = "Fewest render nodes."
  type        = number
  default     = 2
}

variable "render_nodes_max" {
  description = "Most render nodes."
  type        = number
  default     = 20
}

variable "render_node_drain_seconds" {
  description = "Time a terminating render node gets to drain."
  type        = number
  default     = 300
}

variable "ingest_allowed_cidrs" {
  description = "CIDRs allowed to publish RTMP ingest (port 1935) to the ingest load balancer; non-empty makes it internet-facing, empty keeps it internal (encoders inside the VPC only)."
  type        = list(string)
  default     = []
}

variable "ingest_domain_name" {
  description = "Name tenants publish to (point it at output ingest_load_balancer_dns_name); empty: the load balancer's DNS name. Host of INGEST_URL."
  type        = string
  default     = ""
}

variable "ingest_srt_port" {
  description = "UDP port of SRT ingest on the ingest load balancer and the render nodes (the node's SRT_ADDR); encoders publish srt://<ingest host>:<port>."
  type        = number
  default     = 9000
}

variable "render_node_metrics_allowed_cidrs" {
  description = "CIDRs (a Prometheus inside the VPC) allowed to scrape the render nodes' /metrics on 9091; the nodes and the control plane reach that port anyway."
  type        = list(string)
  default     = []
}

variable "enable_prometheus" {
  description = "Run Amazon Managed Prometheus (alert rules from monitoring/prometheus/alerts.yml) and the ADOT collector that scrapes both services and receives their traces."
  type        = bool
  default     = true
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints instead of NAT (S3 always has a gateway endpoint); see modules/network."
  type        = list(string)
  default     = []
}

# ---- data stores ----

variable "postgres_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "postgres_multi_az" {
  description = "RDS standby in a second AZ."
  type        = bool
  default     = true
}

variable "postgres_backup_retention_days" {
  description = "Days of RDS automated backups."
  type        = number
  default     = 14
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_num_cache_clusters" {
  description = "ElastiCache nodes without cluster mode (2+ enables automatic failover)."
  type        = number
  default     = 2
}

variable "redis_cluster_mode" {
  description = "ElastiCache in cluster mode (redis_num_shards primaries): REDIS_URL becomes rediss+cluster://<configuration endpoint>. For fleets whose Redis load outgrows one primary (terraform/README.md, Sizing)."
  type        = bool
  default     = false
}

variable "redis_num_shards" {
  description = "Shards (primaries) in cluster mode."
  type        = number
  default     = 3
}

variable "redis_replicas_per_shard" {
  description = "Replicas per shard in cluster mode (1+: automatic failover, multi-AZ)."
  type        = number
  default     = 1
}

variable "rabbitmq_instance_type" {
  description = "Amazon MQ instance type."
  type        = string
  default     = "mq.m5.large"
}

variable "rabbitmq_deployment_mode" {
  description = "SINGLE_INSTANCE or CLUSTER_MULTI_AZ (three brokers in three AZs behind one endpoint; the jobs queue is a quorum queue replicated over them)."
  type        = string
  default     = "CLUSTER_MULTI_AZ"

  validation {
    condition     = contains(["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"], var.rabbitmq_deployment_mode)
    error_message = "rabbitmq_deployment_mode must be SINGLE_INSTANCE or CLUSTER_MULTI_AZ."
  }
}

variable "rabbitmq_console_allowed_cidrs" {
  description = "CIDRs (inside the VPC, e.g. a VPN) allowed to open the RabbitMQ console."
  type        = list(string)
  default     = []
}

# ---- protection and retention ----

variable "deletion_protection" {
  description = "Deletion protection on RDS and the load balancer; final RDS snapshot on destroy."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups, in days."
  type        = number
  default     = 365
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret stays recoverable (0-30)."
  type        = number
  default     = 30
}

variable "app_password_rotation" {
  description = "Change (e.g. to a date) to rotate the services' Postgres and RabbitMQ passwords; then terraform/deploy.sh (terraform/README.md, Secrets)."
  type        = string
  default     = "initial"
}

variable "alarm_emails" {
  description = "Addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let `terraform destroy` remove non-empty ECR repositories and the access-log bucket (staging only)."
  type        = bool
  default     = false
}

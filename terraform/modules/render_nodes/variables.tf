variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the nodes."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR of the VPC: RTSP previews (8554) are reachable from inside it; an internal ingest load balancer (no ingest_allowed_cidrs) takes encoders from it."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the autoscaling group (the nodes have no public address; they reach tenants' RTMP destinations through NAT)."
  type        = list(string)
}

variable "load_balancer_subnet_ids" {
  description = "Subnets of the ingest load balancer, one per AZ of subnet_ids: public ones when ingest_allowed_cidrs is non-empty (internet-facing), else private ones (internal)."
  type        = list(string)
}

variable "ingest_allowed_cidrs" {
  description = "CIDRs allowed to publish RTMP to the ingest load balancer on 1935 (tenants' encoders). Non-empty: the load balancer is internet-facing; empty: it is internal and takes encoders from the VPC only."
  type        = list(string)
  default     = []
}

variable "srt_port" {
  description = "UDP port of SRT ingest: a listener on the ingest load balancer, the nodes' SRT_ADDR and their security-group rule."
  type        = number
  default     = 9000

  validation {
    condition     = var.srt_port >= 1024 && var.srt_port <= 65535 && !contains([1935, 8554, 9091], var.srt_port)
    error_message = "srt_port must be an unprivileged port other than the node's RTMP (1935), RTSP (8554) and HTTP (9091) ports."
  }
}

variable "ingest_domain_name" {
  description = "Name tenants publish to (a CNAME or alias of the ingest load balancer you create), e.g. \"ingest.example.com\"; empty: the load balancer's own DNS name. It becomes the host of ingest_url."
  type        = string
  default     = ""
}

variable "ingest_deletion_protection" {
  description = "Refuse deletion of the ingest load balancer (prod: true): its DNS name is in every tenant's encoder settings."
  type        = bool
  default     = true
}

variable "http_client_security_group_ids" {
  description = "Security groups (the control plane's) that fetch previews from the nodes' HTTP port (9091). Nodes reach each other's feed relay on it through their own group."
  type        = list(string)
  default     = []
}

variable "metrics_allowed_cidrs" {
  description = "CIDRs (a Prometheus inside the VPC) allowed to scrape /metrics on 9091; empty: none."
  type        = list(string)
  default     = []
}

variable "image" {
  description = "Render-node image, e.g. \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/sm-prod/render-node:1a2b3c4\"."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of a node (compute-optimised; x264 is CPU bound)."
  type        = string
  default     = "c7i.xlarge"
}

variable "ami_id" {
  description = "AMI of the nodes, pinned by ID (Amazon Linux 2023: `aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 --query Parameter.Value --output text`). An instance refresh can roll back only to a template with an AMI ID."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be an AMI ID (ami-...), not an SSM parameter."
  }
}

variable "instance_refresh_min_healthy_percentage" {
  description = "Share of the group kept in service during an instance refresh."
  type        = number
  default     = 100
}

variable "instance_refresh_max_healthy_percentage" {
  description = "Share of the group an instance refresh may run at once (above 100: replacements start before old nodes drain)."
  type        = number
  default     = 200
}

variable "root_volume_size" {
  description = "Root EBS volume, GiB (image, logs, downloaded media)."
  type        = number
  default     = 30
}

variable "ebs_kms_key_arn" {
  description = "KMS key encrypting the root volume (null: the account's default EBS key)."
  type        = string
  default     = null
}

variable "node_capacity" {
  description = "Streams one node may run at once (NODE_CAPACITY). Set it from render-node/bench/ results on the chosen instance type; see terraform/README.md, \"Sizing\"."
  type        = number
}

variable "min_size" {
  description = "Fewest nodes."
  type        = number
  default     = 2
}

variable "max_size" {
  description = "Most nodes."
  type        = number
  default     = 20
}

variable "min_free_slots" {
  description = "Scale out by one node when fewer stream slots than this are free in the whole fleet (default: one node's worth, so a start never waits for a node to boot)."
  type        = number
  default     = null
}

variable "scale_in_free_slots" {
  description = "Scale in by one empty node when more slots than this have been free for 15 minutes (default: two nodes' worth)."
  type        = number
  default     = null
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the node agents publish FreeSlots, Streams and JobsReady to."
  type        = string
  default     = "StreamManager"
}

variable "broker_api_url" {
  description = "Base URL of the RabbitMQ management API (https://…): the agents read the jobs queue's depth from it."
  type        = string
}

variable "metrics_client_security_group_ids" {
  description = "Security groups (the Prometheus collector) allowed to scrape /metrics on the HTTP port."
  type        = list(string)
  default     = []
}

variable "jobs_queue_name" {
  description = "Queue of start jobs whose backlog scales the group out: \"<SM_NAMESPACE>sm.jobs\"."
  type        = string
  default     = "sm.jobs"
}

variable "virtual_host" {
  description = "RabbitMQ virtual host of the jobs queue."
  type        = string
  default     = "/"
}

variable "drain_timeout_seconds" {
  description = "How long a terminating node may take to drain (hand its streams to other nodes) before it is shut down; the lifecycle hook's heartbeat timeout."
  type        = number
  default     = 300

  validation {
    condition     = var.drain_timeout_seconds >= 30 && var.drain_timeout_seconds <= 7200
    error_message = "drain_timeout_seconds must be between 30 and 7200."
  }
}

variable "control_plane_url" {
  description = "Base URL of the control plane inside the VPC (CONTROL_PLANE_URL)."
  type        = string
}

variable "secret_arns" {
  description = "Secrets Manager ARN by environment variable name; the node reads AMQP_URL, REDIS_URL and NODE_SECRET at boot."
  type        = map(string)
}

variable "metrics_token_secret_arn" {
  description = "Secrets Manager ARN (version) of METRICS_TOKEN, the bearer token the Prometheus collector presents for the per-stream series of the node's /metrics."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key the secrets are encrypted with."
  type        = string
}

variable "environment" {
  description = "Extra plain environment variables of the container (SM_NAMESPACE, RUST_LOG, LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, NODE_MAX_CPU_PERCENT, ...)."
  type        = map(string)
  default     = {}
}

variable "log_group_name" {
  description = "CloudWatch log group of the containers (observability module)."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of that log group."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when the job backlog persists (fleet at max_size or nodes failing)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource and propagated to the instances."
  type        = map(string)
  default     = {}
}

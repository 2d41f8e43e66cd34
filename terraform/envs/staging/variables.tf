variable "region" {
  description = "AWS region of the deployment."
  type        = string
}

variable "name" {
  description = "Name of the deployment, prefix of every resource (lower case, digits, hyphens; at most 20 characters)."
  type        = string
}

variable "certificate_arn" {
  description = "ARN of an issued ACM certificate, in `region`, for the API's domain name (e.g. api.example.com)."
  type        = string
}

variable "control_plane_image" {
  description = "Control-plane image URI with an immutable tag, e.g. \"<control_plane_repository_url>:<git sha>\"."
  type        = string
}

variable "render_node_image" {
  description = "Render-node image URI with an immutable tag, e.g. \"<render_node_repository_url>:<git sha>\"."
  type        = string
}

variable "render_node_instance_type" {
  description = "EC2 instance type of the render nodes; render_node_capacity must have been measured on it."
  type        = string
}

variable "render_node_ami_id" {
  description = "AMI of the render nodes, pinned by ID (Amazon Linux 2023); change it on purpose, then terraform/deploy.sh refreshes the nodes."
  type        = string
}

variable "render_node_capacity" {
  description = "Streams per render node (NODE_CAPACITY). Take it from render-node/bench/ results on render_node_instance_type (see terraform/README.md, \"Sizing\")."
  type        = number
}

variable "render_nodes_min" {
  description = "Fewest render nodes."
  type        = number
}

variable "render_nodes_max" {
  description = "Most render nodes."
  type        = number
}

variable "ingest_allowed_cidrs" {
  description = "CIDRs allowed to publish RTMP ingest on 1935 (tenants' encoders) through the ingest load balancer; [] keeps it internal (encoders inside the VPC only)."
  type        = list(string)
  default     = []
}

variable "ingest_domain_name" {
  description = "Name tenants publish to, e.g. \"ingest.example.com\" (point it at output ingest_load_balancer_dns_name); empty: the load balancer's DNS name is the ingest URL's host."
  type        = string
  default     = ""
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to reach the API's load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "rabbitmq_console_allowed_cidrs" {
  description = "CIDRs inside the VPC (VPN, bastion) allowed to open the RabbitMQ console."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "Addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "RUST_LOG of both services."
  type        = string
  default     = "info"
}

variable "otel_exporter_otlp_endpoint" {
  description = "OTLP endpoint for traces (empty: no export)."
  type        = string
  default     = ""
}

variable "ingest_srt_port" {
  description = "UDP port of SRT ingest on the ingest load balancer and the nodes (SRT_ADDR)."
  type        = number
  default     = 9000
}

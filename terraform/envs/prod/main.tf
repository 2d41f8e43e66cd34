# Production: three AZs, a NAT gateway per AZ, multi-AZ Postgres with deletion protection,
# Redis with a replica and automatic failover, a three-node RabbitMQ cluster, logs kept a year.

module "stream_manager" {
  source = "../../modules/stream_manager"

  name = var.name
  tags = { Environment = "prod" }

  az_count           = 3
  single_nat_gateway = false

  control_plane_image     = var.control_plane_image
  render_node_image       = var.render_node_image
  certificate_arn         = var.certificate_arn
  api_allowed_cidrs       = var.api_allowed_cidrs
  control_plane_cpu       = 1024
  control_plane_memory    = 2048
  control_plane_min_tasks = 3
  control_plane_max_tasks = 20

  render_node_instance_type = var.render_node_instance_type
  render_node_ami_id        = var.render_node_ami_id
  render_node_capacity      = var.render_node_capacity
  render_nodes_min          = var.render_nodes_min
  render_nodes_max          = var.render_nodes_max
  render_node_drain_seconds = 600
  ingest_allowed_cidrs      = var.ingest_allowed_cidrs
  ingest_domain_name        = var.ingest_domain_name

  postgres_instance_class        = "db.m7g.large"
  postgres_multi_az              = true
  postgres_backup_retention_days = 30
  redis_node_type                = "cache.m7g.large"
  redis_num_cache_clusters       = 2
  rabbitmq_instance_type         = "mq.m5.large"
  rabbitmq_deployment_mode       = "CLUSTER_MULTI_AZ"
  rabbitmq_console_allowed_cidrs = var.rabbitmq_console_allowed_cidrs

  deletion_protection         = true
  force_destroy               = false
  log_retention_days          = 365
  secret_recovery_window_days = 30
  alarm_emails                = var.alarm_emails
  log_level                   = var.log_level
  otel_exporter_otlp_endpoint = var.otel_exporter_otlp_endpoint
}

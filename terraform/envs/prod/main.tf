# Production: three AZs, a NAT gateway per AZ, multi-AZ Postgres with deletion protection,
# Redis with a replica and automatic failover, a three-node RabbitMQ cluster, logs kept a year.
# The fleet's size is in variables (terraform.tfvars): the defaults fit a few thousand streams;
# terraform/README.md ("Sizing a large fleet") gives the values for 10,000 and 100,000.

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
  control_plane_cpu       = var.control_plane_cpu
  control_plane_memory    = var.control_plane_memory
  control_plane_min_tasks = var.control_plane_min_tasks
  control_plane_max_tasks = var.control_plane_max_tasks

  render_node_instance_type = var.render_node_instance_type
  render_node_ami_id        = var.render_node_ami_id
  render_node_capacity      = var.render_node_capacity
  render_nodes_min          = var.render_nodes_min
  render_nodes_max          = var.render_nodes_max
  render_node_drain_seconds = 600
  ingest_allowed_cidrs      = var.ingest_allowed_cidrs
  ingest_domain_name        = var.ingest_domain_name
  ingest_srt_port           = var.ingest_srt_port

  postgres_instance_class        = var.postgres_instance_class
  postgres_multi_az              = true
  postgres_backup_retention_days = 30
  redis_node_type                = var.redis_node_type
  redis_num_cache_clusters       = 2
  redis_cluster_mode             = var.redis_cluster_mode
  redis_num_shards               = var.redis_num_shards
  redis_replicas_per_shard       = var.redis_replicas_per_shard
  rabbitmq_instance_type         = var.rabbitmq_instance_type
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

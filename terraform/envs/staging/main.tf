# Staging: the whole fleet at the smallest sizes that still exercise every moving part (two
# control-plane replicas, an autoscaling render group, TLS everywhere); single-AZ data stores
# and no deletion protection, so it can be torn down and rebuilt.

module "stream_manager" {
  source = "../../modules/stream_manager"

  name = var.name
  tags = { Environment = "staging" }

  az_count           = 2
  single_nat_gateway = true

  control_plane_image     = var.control_plane_image
  render_node_image       = var.render_node_image
  certificate_arn         = var.certificate_arn
  api_allowed_cidrs       = var.api_allowed_cidrs
  control_plane_cpu       = 512
  control_plane_memory    = 1024
  control_plane_min_tasks = 2
  control_plane_max_tasks = 4

  render_node_instance_type = var.render_node_instance_type
  render_node_ami_id        = var.render_node_ami_id
  render_node_capacity      = var.render_node_capacity
  render_nodes_min          = var.render_nodes_min
  render_nodes_max          = var.render_nodes_max
  ingest_allowed_cidrs      = var.ingest_allowed_cidrs
  ingest_domain_name        = var.ingest_domain_name
  ingest_srt_port           = var.ingest_srt_port

  postgres_instance_class        = "db.t4g.small"
  postgres_multi_az              = false
  postgres_backup_retention_days = 3
  redis_node_type                = "cache.t4g.micro"
  redis_num_cache_clusters       = 1
  rabbitmq_instance_type         = "mq.t3.micro"
  rabbitmq_deployment_mode       = "SINGLE_INSTANCE"
  rabbitmq_console_allowed_cidrs = var.rabbitmq_console_allowed_cidrs

  deletion_protection = false
  force_destroy       = true
  log_retention_days  = 30
  # 0: secrets are deleted at once on destroy, so staging can be destroyed and re-created
  # the same day (a recovery window keeps their names taken for that many days).
  secret_recovery_window_days = 0
  alarm_emails                = var.alarm_emails
  log_level                   = var.log_level
  otel_exporter_otlp_endpoint = var.otel_exporter_otlp_endpoint
}

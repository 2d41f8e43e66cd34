# One complete Stream Manager deployment: the composition every environment (envs/*) calls
# with its own sizes. Resource modules are wired here and nowhere else.

locals {
  tags = merge({ Application = "stream-manager", Deployment = var.name }, var.tags)

  # Traces go to the configured OTLP endpoint, else to the fleet's own collector when it runs
  # (modules/prometheus registers it in the control plane's Cloud Map namespace).
  collector_otlp_endpoint = "http://otel-collector.${var.name}.internal:4318"
  otlp_endpoint = var.otel_exporter_otlp_endpoint != "" ? var.otel_exporter_otlp_endpoint : (
    var.enable_prometheus ? local.collector_otlp_endpoint : ""
  )
  # The control plane's egress for it: to the collector's group, or to anywhere on the
  # endpoint's port (443 is open already).
  otlp_port = local.otlp_endpoint == "" ? 4318 : try(
    tonumber(regex("^[a-z]+://[^/:]+:([0-9]+)", local.otlp_endpoint)[0]),
    startswith(local.otlp_endpoint, "https://") ? 443 : 80,
  )
  otlp_egress = {
    security_group_id = var.otel_exporter_otlp_endpoint == "" && var.enable_prometheus ? module.prometheus[0].collector_security_group_id : ""
    cidr              = var.otel_exporter_otlp_endpoint != "" ? "0.0.0.0/0" : ""
    port              = local.otlp_port
  }

  # Plain settings both services share; secrets come from the secrets module.
  common_environment = merge(
    { RUST_LOG = var.log_level, LOG_FORMAT = "json" },
    var.namespace == "" ? {} : { SM_NAMESPACE = var.namespace },
    local.otlp_endpoint == "" ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT = local.otlp_endpoint },
  )

  # The tags that run now: the registry never expires them.
  deployed_tags = distinct([
    for image in [var.control_plane_image, var.render_node_image] : regex("[^:/@]+$", image)
    if can(regex(":[^:/@]+$", image))
  ])

  metrics_clients = var.enable_prometheus ? [module.prometheus[0].collector_security_group_id] : []
}

module "observability" {
  source = "../observability"

  name                      = var.name
  log_retention_days        = var.log_retention_days
  alarm_emails              = var.alarm_emails
  force_destroy_access_logs = var.force_destroy
  tags                      = local.tags
}

module "network" {
  source = "../network"

  name                    = var.name
  cidr_block              = var.vpc_cidr
  interface_endpoints     = var.interface_endpoints
  az_count                = var.az_count
  single_nat_gateway      = var.single_nat_gateway
  flow_log_retention_days = var.log_retention_days
  logs_kms_key_arn        = module.observability.logs_kms_key_arn
  tags                    = local.tags
}

module "secrets" {
  source = "../secrets"

  name                    = var.name
  recovery_window_in_days = var.secret_recovery_window_days
  database_host           = module.postgres.address
  database_port           = module.postgres.port
  database_name           = module.postgres.database_name
  database_username       = module.postgres.username
  redis_host              = module.redis.endpoint_address
  redis_cluster_mode      = module.redis.cluster_mode
  redis_port              = module.redis.port
  amqp_endpoint           = module.rabbitmq.amqps_endpoint
  app_password_rotation   = var.app_password_rotation
  tags                    = local.tags
}

module "registry" {
  source = "../registry"

  name           = var.name
  kms_key_arn    = module.secrets.kms_key_arn
  force_delete   = var.force_destroy
  protected_tags = local.deployed_tags
  tags           = local.tags
}

module "postgres" {
  source = "../postgres"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.control_plane.service_security_group_id, module.control_plane.ops_security_group_id]
  instance_class             = var.postgres_instance_class
  password                   = module.secrets.database_password
  kms_key_arn                = module.secrets.kms_key_arn
  multi_az                   = var.postgres_multi_az
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = !var.deletion_protection
  backup_retention_days      = var.postgres_backup_retention_days
  alarm_topic_arn            = module.observability.alarm_topic_arn
  tags                       = local.tags
}

module "redis" {
  source = "../redis"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.control_plane.service_security_group_id, module.render_nodes.security_group_id]
  node_type                  = var.redis_node_type
  num_cache_clusters         = var.redis_num_cache_clusters
  cluster_mode               = var.redis_cluster_mode
  num_shards                 = var.redis_num_shards
  replicas_per_shard         = var.redis_replicas_per_shard
  auth_token                 = module.secrets.redis_auth_token
  kms_key_arn                = module.secrets.kms_key_arn
  slow_log_group_name        = module.observability.redis_slow_log_group_name
  alarm_topic_arn            = module.observability.alarm_topic_arn
  tags                       = local.tags
}

module "rabbitmq" {
  source = "../rabbitmq"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.control_plane.service_security_group_id, module.render_nodes.security_group_id]
  console_allowed_cidrs      = var.rabbitmq_console_allowed_cidrs
  instance_type              = var.rabbitmq_instance_type
  deployment_mode            = var.rabbitmq_deployment_mode
  password                   = module.secrets.amqp_password
  # The app-users task creates the services' user through the management API; the nodes'
  # agents read the jobs queue's depth from it.
  management_api_security_group_ids = [module.control_plane.ops_security_group_id, module.render_nodes.security_group_id]
  alarm_topic_arn                   = module.observability.alarm_topic_arn
  tags                              = local.tags
}

module "control_plane" {
  source = "../control_plane"

  name                               = var.name
  vpc_id                             = module.network.vpc_id
  public_subnet_ids                  = module.network.public_subnet_ids
  private_subnet_ids                 = module.network.private_subnet_ids
  certificate_arn                    = var.certificate_arn
  image                              = var.control_plane_image
  cpu                                = var.control_plane_cpu
  memory                             = var.control_plane_memory
  min_tasks                          = var.control_plane_min_tasks
  max_tasks                          = var.control_plane_max_tasks
  secret_arns                        = module.secrets.secret_arns
  admin_secret_arns                  = module.secrets.admin_secret_arns
  secrets_kms_key_arn                = module.secrets.kms_key_arn
  database_app_username              = module.secrets.database_app_username
  database_name                      = module.postgres.database_name
  amqp_admin_username                = module.rabbitmq.username
  amqp_app_username                  = module.secrets.amqp_app_username
  rabbitmq_management_api_url        = module.rabbitmq.management_api_url
  metrics_client_security_group_ids  = local.metrics_clients
  otlp_egress                        = local.otlp_egress
  environment                        = merge(local.common_environment, { JWT_AUDIENCE = var.jwt_audience, INGEST_URL = module.render_nodes.ingest_url })
  log_group_name                     = module.observability.control_plane_log_group_name
  alb_ingress_cidrs                  = var.api_allowed_cidrs
  alb_deletion_protection            = var.deletion_protection
  access_logs_bucket                 = module.observability.access_logs_bucket
  waf_log_group_arn                  = module.observability.waf_log_group_arn
  internal_client_security_group_ids = [module.render_nodes.security_group_id]
  alarm_topic_arn                    = module.observability.alarm_topic_arn
  tags                               = local.tags
}

module "render_nodes" {
  source = "../render_nodes"

  name                              = var.name
  vpc_id                            = module.network.vpc_id
  vpc_cidr_block                    = module.network.vpc_cidr_block
  subnet_ids                        = module.network.private_subnet_ids
  load_balancer_subnet_ids          = length(var.ingest_allowed_cidrs) > 0 ? module.network.public_subnet_ids : module.network.private_subnet_ids
  ingest_allowed_cidrs              = var.ingest_allowed_cidrs
  ingest_domain_name                = var.ingest_domain_name
  srt_port                          = var.ingest_srt_port
  ingest_deletion_protection        = var.deletion_protection
  http_client_security_group_ids    = [module.control_plane.service_security_group_id]
  metrics_allowed_cidrs             = var.render_node_metrics_allowed_cidrs
  metrics_client_security_group_ids = local.metrics_clients
  ami_id                            = var.render_node_ami_id
  image                             = var.render_node_image
  instance_type                     = var.render_node_instance_type
  node_capacity                     = var.render_node_capacity
  min_size                          = var.render_nodes_min
  max_size                          = var.render_nodes_max
  drain_timeout_seconds             = var.render_node_drain_seconds
  broker_api_url                    = module.rabbitmq.management_api_url
  jobs_queue_name                   = "${var.namespace}sm.jobs"
  control_plane_url                 = module.control_plane.internal_url
  secret_arns                       = module.secrets.secret_arns
  metrics_token_secret_arn          = module.secrets.metrics_token_arn
  secrets_kms_key_arn               = module.secrets.kms_key_arn
  environment                       = local.common_environment
  log_group_name                    = module.observability.render_node_log_group_name
  log_group_arn                     = module.observability.render_node_log_group_arn
  alarm_topic_arn                   = module.observability.alarm_topic_arn
  tags                              = local.tags
}

# Prometheus: Amazon Managed Prometheus with the repository's alert rules, fed by an ADOT
# collector that scrapes both services (and forwards their traces to X-Ray).
module "prometheus" {
  source = "../prometheus"
  count  = var.enable_prometheus ? 1 : 0

  name                            = var.name
  vpc_id                          = module.network.vpc_id
  subnet_ids                      = module.network.private_subnet_ids
  cluster_arn                     = module.control_plane.cluster_arn
  namespace_id                    = module.control_plane.namespace_id
  namespace_name                  = module.control_plane.namespace_name
  control_plane_dns_name          = module.control_plane.internal_dns_name
  control_plane_security_group_id = module.control_plane.service_security_group_id
  render_nodes_asg_name           = module.render_nodes.autoscaling_group_name
  render_nodes_security_group_id  = module.render_nodes.security_group_id
  metrics_token_secret_arn        = module.secrets.metrics_token_arn
  secrets_kms_key_arn             = module.secrets.kms_key_arn
  otlp_client_security_group_ids  = [module.control_plane.service_security_group_id, module.render_nodes.security_group_id]
  alert_rules_file                = "${path.module}/../../../monitoring/prometheus/alerts.yml"
  alarm_topic_arn                 = module.observability.alarm_topic_arn
  logs_kms_key_arn                = module.observability.logs_kms_key_arn
  log_group_name                  = module.observability.control_plane_log_group_name
  log_retention_days              = var.log_retention_days
  tags                            = local.tags
}

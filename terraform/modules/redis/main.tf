# Redis on ElastiCache: live status, node registry, leases cache and pub/sub fan-out.
# Encrypted in transit (TLS, so clients use rediss://) and at rest, AUTH token required.
# Losing it loses no configuration (Postgres is the source of truth).

locals {
  # Cluster mode needs automatic failover whenever a shard has a replica.
  has_replicas = var.cluster_mode ? var.replicas_per_shard > 0 : var.num_cache_clusters > 1
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "Redis of ${var.name}: 6379 from the services only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from an application security group"
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Failover follows the replicas: on with num_cache_clusters >= 2 (the default and prod) or any replica per shard in cluster mode; staging runs one node, and Redis holds only rebuildable state.
  replication_group_id = "${var.name}-redis"
  description          = "Stream Manager ${var.name}: live state and pub/sub"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = var.cluster_mode ? "default.redis7.cluster.on" : "default.redis7"

  # Cluster mode: keys spread over num_shards primaries (hash slots), each with
  # replicas_per_shard replicas in other AZs; the services reach it through the configuration
  # endpoint with a cluster client (REDIS_URL rediss+cluster://). Otherwise one primary with
  # num_cache_clusters - 1 replicas.
  cluster_mode               = var.cluster_mode ? "enabled" : "disabled"
  num_node_groups            = var.cluster_mode ? var.num_shards : null
  replicas_per_node_group    = var.cluster_mode ? var.replicas_per_shard : null
  num_cache_clusters         = var.cluster_mode ? null : var.num_cache_clusters
  automatic_failover_enabled = local.has_replicas
  multi_az_enabled           = local.has_replicas

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = var.auth_token
  # A new token is added beside the old one (ROTATE) instead of replacing the group; after the
  # services have rolled, apply again with SET to drop the old one (terraform/README.md).
  auth_token_update_strategy = var.auth_token_update_strategy

  auto_minor_version_upgrade = true
  snapshot_retention_limit   = var.snapshot_retention_days
  # Staggered with RDS and Amazon MQ (terraform/README.md): one data store at a time.
  snapshot_window    = var.snapshot_window
  maintenance_window = var.maintenance_window
  apply_immediately  = false

  log_delivery_configuration {
    destination      = var.slow_log_group_name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}

# Every credential of the fleet: generated here (random_password), stored in Secrets Manager
# under a dedicated KMS key, and injected into the control-plane tasks (ECS `secrets`) and the
# render nodes (fetched by the instance at boot). The values live in the Terraform state too:
# keep the state in an encrypted backend with restricted access (see terraform/README.md).
#
# Two kinds: the services' secrets (`secret_arns`: application users of Postgres and RabbitMQ,
# never the RDS master or the broker admin) and the operators' (`admin_secret_arns`: the master
# and admin credentials, read only by the one-off migrate and app-users tasks). Both outputs
# name the secret *versions*, so nothing that reads a secret is created before its value exists
# (the URLs need the data stores' endpoints, which take 10-20 minutes on a first apply).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means "this key"; administration stays with the account root.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means "this key"; use is granted through IAM policies naming it.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means "this key" and cannot be narrowed.
  statement {
    sid       = "AccountAdministersAndDelegatesToIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name}: Secrets Manager secrets and data stores"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

# ---- generated credentials -----------------------------------------------------------------
# Alphanumeric only: they go into URLs unescaped, and RDS, ElastiCache and Amazon MQ each
# refuse some punctuation.

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "random_password" "node" {
  length  = 48
  special = false
}

# RDS master: migrations (DDL) and the app-users task only.
resource "random_password" "database" {
  length  = 40
  special = false
}

# The services' Postgres user. Rotate by changing var.app_password_rotation (see README).
resource "random_password" "database_app" {
  length  = 40
  special = false
  keepers = { rotation = var.app_password_rotation }
}

# The render nodes' METRICS_TOKEN: the bearer token Prometheus (the ADOT collector) presents to
# see the per-stream series of a node's /metrics. Only the nodes and the collector read it.
resource "random_password" "metrics" {
  length  = 48
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false
}

# Broker admin (the Amazon MQ `user` block): the app-users task only.
resource "random_password" "amqp" {
  length  = 40
  special = false
}

# The services' RabbitMQ user, created through the management API (Amazon MQ cannot change
# RabbitMQ users after creation, so they are not part of the broker resource).
resource "random_password" "amqp_app" {
  length  = 40
  special = false
  keepers = { rotation = var.app_password_rotation }
}

locals {
  # Literal lists: for_each may not iterate over anything derived from the sensitive values.
  # What the services read ...
  secret_names = ["JWT_SECRET", "NODE_SECRET", "DATABASE_URL", "REDIS_URL", "AMQP_URL"]
  # ... what only the render nodes and the metrics collector read (not the control plane) ...
  scrape_secret_names = ["METRICS_TOKEN"]
  # ... and what only the one-off operator tasks read.
  admin_secret_names = ["DATABASE_ADMIN_URL", "DATABASE_APP_PASSWORD", "AMQP_ADMIN_PASSWORD", "AMQP_APP_PASSWORD"]

  amqp_host = trimsuffix(trimprefix(var.amqp_endpoint, "amqps://"), "/")
  # Cluster-mode ElastiCache is reached through its configuration endpoint with a cluster
  # client: the `+cluster` scheme tells the services so (TLS, as every ElastiCache here).
  redis_scheme = var.redis_cluster_mode ? "rediss+cluster" : "rediss"

  values = {
    JWT_SECRET   = random_password.jwt.result
    NODE_SECRET  = random_password.node.result
    DATABASE_URL = "postgres://${var.database_app_username}:${random_password.database_app.result}@${var.database_host}:${var.database_port}/${var.database_name}?sslmode=require"
    REDIS_URL    = "${local.redis_scheme}://:${random_password.redis.result}@${var.redis_host}:${var.redis_port}"
    AMQP_URL     = "amqps://${var.amqp_app_username}:${random_password.amqp_app.result}@${local.amqp_host}/%2f"

    METRICS_TOKEN = random_password.metrics.result

    DATABASE_ADMIN_URL    = "postgres://${var.database_username}:${random_password.database.result}@${var.database_host}:${var.database_port}/${var.database_name}?sslmode=require"
    DATABASE_APP_PASSWORD = random_password.database_app.result
    AMQP_ADMIN_PASSWORD   = random_password.amqp.result
    AMQP_APP_PASSWORD     = random_password.amqp_app.result
  }
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Automatic rotation needs a rotation Lambda per secret type and a coordinated restart; rotate with `terraform apply -replace=random_password.<name>` (see terraform/README.md).
  for_each = toset(concat(local.secret_names, local.scrape_secret_names, local.admin_secret_names))

  name                    = "${var.name}/${each.key}"
  description             = "${each.key} of Stream Manager (${var.name})"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = aws_secretsmanager_secret.this

  secret_id     = each.value.id
  secret_string = local.values[each.key]
}

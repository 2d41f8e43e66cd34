# Every credential of the fleet: generated here (random_password), stored in Secrets Manager
# under a dedicated KMS key, and injected into the control-plane tasks (ECS `secrets`) and the
# render nodes (fetched by the instance at boot). The values live in the Terraform state too:
# keep the state in an encrypted backend with restricted access (see terraform/README.md).

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

resource "random_password" "database" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false
}

resource "random_password" "amqp" {
  length  = 40
  special = false
}

locals {
  # A literal list: for_each may not iterate over anything derived from the sensitive values.
  secret_names = ["JWT_SECRET", "NODE_SECRET", "DATABASE_URL", "REDIS_URL", "AMQP_URL"]

  amqp_host = trimsuffix(trimprefix(var.amqp_endpoint, "amqps://"), "/")

  values = {
    JWT_SECRET   = random_password.jwt.result
    NODE_SECRET  = random_password.node.result
    DATABASE_URL = "postgres://${var.database_username}:${random_password.database.result}@${var.database_host}:${var.database_port}/${var.database_name}?sslmode=require"
    REDIS_URL    = "rediss://:${random_password.redis.result}@${var.redis_host}:${var.redis_port}"
    AMQP_URL     = "amqps://${var.amqp_username}:${random_password.amqp.result}@${local.amqp_host}/%2f"
  }
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Automatic rotation needs a rotation Lambda per secret type and a coordinated restart; rotate with `terraform apply -replace=random_password.<name>` (see terraform/README.md).
  for_each = toset(local.secret_names)

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

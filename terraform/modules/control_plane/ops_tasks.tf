# One-off operator tasks, run by terraform/deploy.sh before the service is updated:
#   - app-users: creates (or re-passwords) the services' own Postgres and RabbitMQ users, so
#     the service never holds the RDS master or the broker admin;
#   - migrate:   `control-plane migrate` with the master's DATABASE_URL (DDL), so the schema is
#     in place before any task of the new version starts (a task refuses a newer schema).
# Only these task definitions can read the admin secrets (their own execution role).

locals {
  ops_log = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = var.log_group_name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = "ops"
    }
  }
}

resource "aws_security_group" "ops" {
  #checkov:skip=CKV2_AWS_5:Attached by terraform/deploy.sh to the one-off migrate and app-users tasks (aws ecs run-task), which Terraform defines but does not run.
  name_prefix = "${var.name}-ops-"
  description = "One-off operator tasks of ${var.name} (migrate, app-users): Postgres and the RabbitMQ management API"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-ops" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "ops_postgres" {
  security_group_id = aws_security_group.ops.id
  description       = "Postgres inside the VPC"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}

resource "aws_vpc_security_group_egress_rule" "ops_https" {
  security_group_id = aws_security_group.ops.id
  description       = "RabbitMQ management API, image pulls and AWS APIs (HTTPS)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_iam_role" "ops_execution" {
  name_prefix        = "${var.name}-cp-ops-"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "ops_execution" {
  role       = aws_iam_role.ops_execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "ops_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(var.admin_secret_arns)
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "ops_secrets" {
  name   = "read-admin-secrets"
  role   = aws_iam_role.ops_execution.id
  policy = data.aws_iam_policy_document.ops_secrets.json
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-control-plane-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.ops_execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "migrate"
      image                  = var.image
      essential              = true
      user                   = "10001:10001"
      readonlyRootFilesystem = true
      command                = ["migrate"]
      environment = [
        { name = "RUST_LOG", value = lookup(local.environment, "RUST_LOG", "info") },
        { name = "LOG_FORMAT", value = "json" },
      ]
      secrets          = [{ name = "DATABASE_URL", valueFrom = var.admin_secret_arns["DATABASE_ADMIN_URL"] }]
      logConfiguration = local.ops_log
    },
  ])

  tags = var.tags
}

resource "aws_ecs_task_definition" "app_users" {
  family                   = "${var.name}-app-users"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.ops_execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Postgres first, then RabbitMQ; the task succeeds only when both containers exit 0
  # (terraform/deploy.sh checks every container's exit code).
  container_definitions = jsonencode([
    {
      name       = "postgres-users"
      image      = var.postgres_client_image
      essential  = false
      user       = "999:999"
      entryPoint = ["sh", "-c"]
      command    = [file("${path.module}/app_users_postgres.sh")]
      environment = [
        { name = "APP_USER", value = var.database_app_username },
        { name = "DB_NAME", value = var.database_name },
        { name = "APP_USERS_SQL", value = file("${path.module}/app_users.sql") },
      ]
      secrets = [
        { name = "DATABASE_ADMIN_URL", valueFrom = var.admin_secret_arns["DATABASE_ADMIN_URL"] },
        { name = "APP_PASSWORD", valueFrom = var.admin_secret_arns["DATABASE_APP_PASSWORD"] },
      ]
      logConfiguration = local.ops_log
    },
    {
      name       = "rabbitmq-users"
      image      = var.curl_image
      essential  = true
      user       = "65534:65534"
      entryPoint = ["sh", "-c"]
      command    = [file("${path.module}/app_users_rabbitmq.sh")]
      dependsOn  = [{ containerName = "postgres-users", condition = "SUCCESS" }]
      environment = [
        { name = "RABBITMQ_API_URL", value = var.rabbitmq_management_api_url },
        { name = "ADMIN_USER", value = var.amqp_admin_username },
        { name = "APP_USER", value = var.amqp_app_username },
      ]
      secrets = [
        { name = "ADMIN_PASSWORD", valueFrom = var.admin_secret_arns["AMQP_ADMIN_PASSWORD"] },
        { name = "APP_PASSWORD", valueFrom = var.admin_secret_arns["AMQP_APP_PASSWORD"] },
      ]
      logConfiguration = local.ops_log
    },
  ])

  tags = var.tags
}

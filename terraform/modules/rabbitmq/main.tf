# RabbitMQ on Amazon MQ: render jobs (quorum queue sm.jobs), per-node command queues, dead
# letters. Private, TLS only (amqps on 5671). Queue depth is published to CloudWatch
# (AWS/AmazonMQ) and drives the render-node autoscaling group.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-rabbitmq-"
  description = "RabbitMQ of ${var.name}: amqps from the services only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-rabbitmq" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "AMQP over TLS from an application security group"
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = 5671
  to_port                      = 5671
}

# The management API (HTTPS 443): the app-users task creates the services' user through it, and
# the render nodes' agent reads the jobs queue's depth (Amazon MQ publishes no per-queue metric
# for RabbitMQ 4 brokers).
resource "aws_vpc_security_group_ingress_rule" "management_api" {
  count = length(var.management_api_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "RabbitMQ management API from an application security group"
  referenced_security_group_id = var.management_api_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_vpc_security_group_ingress_rule" "console" {
  count = length(var.console_allowed_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "RabbitMQ web console from an operator network"
  cidr_ipv4         = var.console_allowed_cidrs[count.index]
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# Amazon MQ writes the broker's general log to CloudWatch Logs under /aws/amazonmq/.
data "aws_iam_policy_document" "mq_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/amazonmq/*"]
    principals {
      type        = "Service"
      identifiers = ["mq.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "mq" {
  policy_name     = "${var.name}-amazonmq-logs"
  policy_document = data.aws_iam_policy_document.mq_logs.json
}

resource "aws_mq_broker" "this" {
  #checkov:skip=CKV_AWS_209:Amazon MQ for RabbitMQ does not support encryption_options (customer managed keys); data at rest is encrypted with an AWS owned key.
  #checkov:skip=CKV_AWS_197:Amazon MQ for RabbitMQ does not support audit logging (ActiveMQ only); the general log is on.
  broker_name                = "${var.name}-rabbitmq"
  engine_type                = "RabbitMQ"
  engine_version             = var.engine_version
  host_instance_type         = var.instance_type
  deployment_mode            = var.deployment_mode
  auto_minor_version_upgrade = true
  apply_immediately          = false

  publicly_accessible = false
  subnet_ids          = var.deployment_mode == "SINGLE_INSTANCE" ? [var.subnet_ids[0]] : var.subnet_ids
  security_groups     = [aws_security_group.this.id]

  # The admin user. The services' own user is created through the management API by the
  # app-users task (terraform/modules/control_plane/app_users.tf): Amazon MQ does not return
  # RabbitMQ users, so Terraform can neither update nor see them, and a change here would
  # either do nothing or, with -replace, rebuild the broker.
  user {
    username = var.username
    password = var.password
  }

  logs {
    general = true
  }

  # Staggered with RDS and ElastiCache (see terraform/README.md): never two data stores at once.
  maintenance_window_start_time {
    day_of_week = var.maintenance_day
    time_of_day = var.maintenance_time
    time_zone   = "UTC"
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [user]
  }

  depends_on = [aws_cloudwatch_log_resource_policy.mq]
}

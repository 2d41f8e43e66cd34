# Prometheus for the fleet: an Amazon Managed Prometheus workspace with the repository's alert
# rules (monitoring/prometheus/alerts.yml, the same file the local stack loads) and an alert
# manager that notifies the alarm topic, fed by an ADOT collector (one Fargate task) that scrapes
# every control-plane task (Cloud Map A records) and every render node (EC2 discovery of the
# autoscaling group) with the same job names as monitoring/prometheus/prometheus.yml. The same
# collector receives the services' OTLP traces and forwards them to X-Ray.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  region = data.aws_region.current.name
  name   = "${var.name}-otel-collector"

  collector_config = {
    extensions = {
      sigv4auth    = { region = local.region, service = "aps" }
      health_check = { endpoint = "0.0.0.0:13133" }
    }
    receivers = {
      otlp = {
        protocols = {
          grpc = { endpoint = "0.0.0.0:4317" }
          http = { endpoint = "0.0.0.0:4318" }
        }
      }
      prometheus = {
        config = {
          global = { scrape_interval = "15s", scrape_timeout = "5s" }
          scrape_configs = [
            {
              job_name     = "control-plane"
              metrics_path = "/metrics"
              dns_sd_configs = [
                { names = [var.control_plane_dns_name], type = "A", port = var.control_plane_port },
              ]
            },
            {
              job_name     = "render-node"
              metrics_path = "/metrics"
              # The per-stream series (they name stream ids) are served only to the nodes'
              # METRICS_TOKEN. ECS injects it into the collector's environment from Secrets
              # Manager and the collector expands $${env:...} when it loads this file, so the
              # token is in neither the task definition nor the Terraform plan.
              authorization = { type = "Bearer", credentials = "$${env:METRICS_TOKEN}" }
              ec2_sd_configs = [
                {
                  region  = local.region
                  port    = var.render_node_port
                  filters = [{ name = "tag:aws:autoscaling:groupName", values = [var.render_nodes_asg_name] }]
                },
              ]
              relabel_configs = [
                { source_labels = ["__meta_ec2_instance_id"], target_label = "instance_id" },
                { source_labels = ["__meta_ec2_availability_zone"], target_label = "zone" },
              ]
            },
          ]
        }
      }
    }
    exporters = {
      prometheusremotewrite = {
        endpoint = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/remote_write"
        auth     = { authenticator = "sigv4auth" }
      }
      awsxray = { region = local.region }
    }
    service = {
      extensions = ["sigv4auth", "health_check"]
      pipelines = {
        metrics = { receivers = ["prometheus"], exporters = ["prometheusremotewrite"] }
        traces  = { receivers = ["otlp"], exporters = ["awsxray"] }
      }
    }
  }
}

# ---- workspace, rules, alert manager ---------------------------------------------------------

resource "aws_cloudwatch_log_group" "workspace" {
  #checkov:skip=CKV_AWS_338:Retention is a variable: 365 days by default and in prod; staging keeps 30 days on purpose.
  name              = "/stream-manager/${var.name}/prometheus"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_prometheus_workspace" "this" {
  alias       = var.name
  kms_key_arn = var.kms_key_arn

  logging_configuration {
    log_group_arn = "${aws_cloudwatch_log_group.workspace.arn}:*"
  }

  tags = var.tags
}

resource "aws_prometheus_rule_group_namespace" "alerts" {
  name         = "stream-manager"
  workspace_id = aws_prometheus_workspace.this.id
  data         = file(var.alert_rules_file)
}

resource "aws_prometheus_alert_manager_definition" "this" {
  workspace_id = aws_prometheus_workspace.this.id
  definition = yamlencode({
    alertmanager_config = yamlencode({
      route = { receiver = "alarm-topic", group_by = ["alertname"], repeat_interval = "4h" }
      receivers = [
        {
          name = "alarm-topic"
          sns_configs = [
            {
              topic_arn = var.alarm_topic_arn
              sigv4     = { region = local.region }
              subject   = "Stream Manager ${var.name}: {{ .CommonLabels.alertname }}"
            },
          ]
        },
      ]
    })
  })
}

# ---- the collector --------------------------------------------------------------------------

resource "aws_security_group" "collector" {
  name_prefix = "${var.name}-otel-"
  description = "ADOT collector of ${var.name}: OTLP in from the services, scrapes out to them"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "otlp" {
  for_each = { for pair in setproduct(var.otlp_client_security_group_ids, [4317, 4318]) : "${pair[0]}-${pair[1]}" => pair }

  security_group_id            = aws_security_group.collector.id
  description                  = "OTLP traces from the services"
  referenced_security_group_id = each.value[0]
  ip_protocol                  = "tcp"
  from_port                    = each.value[1]
  to_port                      = each.value[1]
}

resource "aws_vpc_security_group_egress_rule" "scrape_control_plane" {
  security_group_id            = aws_security_group.collector.id
  description                  = "Scrapes of the control-plane tasks' /metrics"
  referenced_security_group_id = var.control_plane_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.control_plane_port
  to_port                      = var.control_plane_port
}

resource "aws_vpc_security_group_egress_rule" "scrape_render_nodes" {
  security_group_id            = aws_security_group.collector.id
  description                  = "Scrapes of the render nodes' /metrics"
  referenced_security_group_id = var.render_nodes_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.render_node_port
  to_port                      = var.render_node_port
}

resource "aws_vpc_security_group_egress_rule" "aws_apis" {
  security_group_id = aws_security_group.collector.id
  description       = "Remote write, X-Ray, EC2 discovery and image pulls (HTTPS, through NAT or endpoints)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-otel-exec-"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The execution role injects METRICS_TOKEN into the collector (ECS `secrets`).
data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.metrics_token_secret_arn]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "read-metrics-token"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

resource "aws_iam_role" "task" {
  name_prefix        = "${var.name}-otel-task-"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "RemoteWrite"
    actions   = ["aps:RemoteWrite"]
    resources = [aws_prometheus_workspace.this.arn]
  }
  statement {
    #checkov:skip=CKV_AWS_356:ec2:DescribeInstances and the X-Ray write calls support no resource-level permissions.
    sid = "DiscoverNodesAndWriteTraces"
    actions = [
      "ec2:DescribeInstances",
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "collector"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

resource "aws_ecs_task_definition" "collector" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "otel-collector"
      image                  = var.collector_image
      essential              = true
      readonlyRootFilesystem = true
      environment            = [{ name = "AOT_CONFIG_CONTENT", value = yamlencode(local.collector_config) }]
      secrets                = [{ name = "METRICS_TOKEN", valueFrom = var.metrics_token_secret_arn }]
      portMappings = [
        { containerPort = 4317, protocol = "tcp" },
        { containerPort = 4318, protocol = "tcp" },
      ]
      healthCheck = {
        command     = ["/healthcheck"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = var.log_group_name
          awslogs-region        = local.region
          awslogs-stream-prefix = "otel-collector"
        }
      }
    },
  ])

  tags = var.tags
}

resource "aws_service_discovery_service" "collector" {
  name = "otel-collector"

  dns_config {
    namespace_id   = var.namespace_id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }

  tags = var.tags
}

resource "aws_ecs_service" "collector" {
  name                   = "otel-collector"
  cluster                = var.cluster_arn
  task_definition        = aws_ecs_task_definition.collector.arn
  desired_count          = 1
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.collector.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.collector.arn
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.task, aws_iam_role_policy.execution_secrets]
}

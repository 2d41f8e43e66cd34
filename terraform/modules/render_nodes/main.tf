# Render nodes: an EC2 autoscaling group of Docker hosts running the render-node container, in
# private subnets behind the RTMP ingest load balancer (ingest.tf).
# Scaled out on the RabbitMQ job backlog (AWS/AmazonMQ MessageReadyCount of the jobs queue) and
# tracked on CPU; a lifecycle hook holds terminating nodes until they have drained.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_ssm_parameter" "ami" {
  name = var.ami_ssm_parameter
}

locals {
  asg_name  = "${var.name}-render-nodes"
  hook_name = "drain"
  asg_arn   = "arn:${data.aws_partition.current.partition}:autoscaling:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${local.asg_name}"

  # The only secrets a node needs.
  node_secret_names = ["AMQP_URL", "REDIS_URL", "NODE_SECRET"]
  node_secret_arns  = { for k in local.node_secret_names : k => var.secret_arns[k] }

  environment = merge({ RUST_LOG = "info", LOG_FORMAT = "json" }, var.environment)

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    region            = data.aws_region.current.name
    image             = var.image
    asg_name          = local.asg_name
    hook_name         = local.hook_name
    drain_seconds     = var.drain_timeout_seconds
    node_capacity     = var.node_capacity
    control_plane_url = var.control_plane_url
    log_group_name    = var.log_group_name
    environment       = local.environment
    secret_arns       = local.node_secret_arns
    ingest_port       = local.ingest_port
    http_port         = local.http_port
  })
}

# ---- security group -------------------------------------------------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-render-nodes-"
  description = "Render nodes of ${var.name}: RTMP ingest from the ingest load balancer, feed relay between nodes, previews"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-render-nodes" })

  lifecycle {
    create_before_destroy = true
  }
}

# 1935 only from the ingest load balancer (publishes and its health checks), see ingest.tf.
resource "aws_vpc_security_group_ingress_rule" "rtmp_from_lb" {
  security_group_id            = aws_security_group.this.id
  description                  = "RTMP ingest and health checks from the ingest load balancer"
  referenced_security_group_id = aws_security_group.ingest_lb.id
  ip_protocol                  = "tcp"
  from_port                    = local.ingest_port
  to_port                      = local.ingest_port
}

# The HTTP port (9091) serves the feed relay, stream snapshots and metrics: other nodes pull
# feeds from it, the control plane fetches previews from it.
resource "aws_vpc_security_group_ingress_rule" "relay_from_nodes" {
  security_group_id            = aws_security_group.this.id
  description                  = "Feed relay between render nodes"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
}

resource "aws_vpc_security_group_ingress_rule" "http_from_clients" {
  count = length(var.http_client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Previews (stream snapshots) from the control plane"
  referenced_security_group_id = var.http_client_security_group_ids[count.index]
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  count = length(var.metrics_allowed_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "Prometheus scrapes of /metrics"
  cidr_ipv4         = var.metrics_allowed_cidrs[count.index]
  ip_protocol       = "tcp"
  from_port         = local.http_port
  to_port           = local.http_port
}

resource "aws_vpc_security_group_ingress_rule" "rtsp" {
  security_group_id = aws_security_group.this.id
  description       = "RTSP previews from inside the VPC"
  cidr_ipv4         = var.vpc_cidr_block
  ip_protocol       = "tcp"
  from_port         = 8554
  to_port           = 8554
}

resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:Nodes push RTMP/RTMPS to destinations tenants choose (any host and port) and fetch their media over HTTP(S); egress cannot be narrowed to a fixed list.
  security_group_id = aws_security_group.this.id
  description       = "RTMP outputs, media fetches, AWS APIs, data stores"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# ---- IAM ------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-render-node-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Shell access through SSM Session Manager instead of SSH keys; image pulls from ECR.
resource "aws_iam_role_policy_attachment" "managed" {
  for_each = toset([
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "node" {
  statement {
    sid       = "ReadNodeSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.node_secret_arns)
  }
  statement {
    sid       = "DecryptNodeSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
  }
  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:*"]
  }
  statement {
    sid = "CompleteOwnDrain"
    actions = [
      "autoscaling:CompleteLifecycleAction",
      "autoscaling:RecordLifecycleActionHeartbeat",
    ]
    resources = [local.asg_arn]
  }
}

resource "aws_iam_role_policy" "node" {
  name   = "render-node"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.node.json
}

resource "aws_iam_instance_profile" "this" {
  name_prefix = "${var.name}-render-node-"
  role        = aws_iam_role.this.name
  tags        = var.tags
}

# ---- launch template and group --------------------------------------------------------------

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-render-node-"
  description            = "Stream Manager render node (${var.name})"
  image_id               = data.aws_ssm_parameter.ami.value
  instance_type          = var.instance_type
  update_default_version = true
  user_data              = base64encode(local.user_data)

  iam_instance_profile {
    arn = aws_iam_instance_profile.this.arn
  }

  network_interfaces {
    associate_public_ip_address = false
    security_groups             = [aws_security_group.this.id]
    delete_on_termination       = true
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-render-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-render-node" })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "this" {
  name                      = local.asg_name
  vpc_zone_identifier       = var.subnet_ids
  target_group_arns         = [aws_lb_target_group.ingest.arn]
  min_size                  = var.min_size
  max_size                  = var.max_size
  desired_capacity          = var.min_size
  health_check_type         = "EC2"
  health_check_grace_period = 300
  default_instance_warmup   = 180
  # On scale-in, nodes of an outdated launch template go first, then the newest nodes (the
  # fewest streams to move).
  termination_policies = ["OldestLaunchTemplate", "NewestInstance"]

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # Created with the group, so no node ever starts without it.
  initial_lifecycle_hook {
    name                 = local.hook_name
    lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING"
    heartbeat_timeout    = var.drain_timeout_seconds + 60
    default_result       = "CONTINUE"
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 90
      instance_warmup        = 180
    }
  }

  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
  ]

  dynamic "tag" {
    for_each = merge(var.tags, { Name = "${var.name}-render-node" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  # The scaling policies own the desired capacity after creation.
  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

# ---- scaling --------------------------------------------------------------------------------

resource "aws_autoscaling_policy" "cpu" {
  name                   = "${local.asg_name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.cpu_target_percent
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}

# Jobs waiting in the queue mean no node has room: add nodes in proportion to the backlog
# (one node takes node_capacity jobs).
resource "aws_autoscaling_policy" "backlog" {
  name                      = "${local.asg_name}-backlog"
  autoscaling_group_name    = aws_autoscaling_group.this.name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  estimated_instance_warmup = 180

  step_adjustment {
    metric_interval_lower_bound = 0
    metric_interval_upper_bound = var.node_capacity
    scaling_adjustment          = 1
  }
  step_adjustment {
    metric_interval_lower_bound = var.node_capacity
    metric_interval_upper_bound = 4 * var.node_capacity
    scaling_adjustment          = 2
  }
  step_adjustment {
    metric_interval_lower_bound = 4 * var.node_capacity
    scaling_adjustment          = 4
  }
}

locals {
  queue_dimensions = {
    Broker      = var.broker_name
    VirtualHost = var.virtual_host
    Queue       = var.jobs_queue_name
  }
}

resource "aws_cloudwatch_metric_alarm" "backlog" {
  alarm_name          = "${local.asg_name}-job-backlog"
  alarm_description   = "Start jobs wait in ${var.jobs_queue_name}: scale the render nodes out."
  namespace           = "AWS/AmazonMQ"
  metric_name         = "MessageReadyCount"
  dimensions          = local.queue_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_autoscaling_policy.backlog.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "backlog_persists" {
  alarm_name          = "${local.asg_name}-job-backlog-persists"
  alarm_description   = "Start jobs have waited for 15 minutes: the group is at max_size or new nodes fail to take jobs."
  namespace           = "AWS/AmazonMQ"
  metric_name         = "MessageReadyCount"
  dimensions          = local.queue_dimensions
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# Render nodes: an EC2 autoscaling group of Docker hosts running the render-node container, in
# private subnets behind the RTMP ingest load balancer (ingest.tf).
# Healed on the node's own /healthz (the ingest target group's health check, health check type
# ELB) and by the bootstrap marking a node it could not start unhealthy; scaled on what the
# fleet is made of, free slots and the jobs waiting (scaling.tf); scaled in only on nodes that
# hold no stream (scale-in protection, kept by the node agent); a lifecycle hook holds
# terminating nodes until they have drained.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  asg_name  = "${var.name}-render-nodes"
  hook_name = "drain"
  asg_arn   = "arn:${data.aws_partition.current.partition}:autoscaling:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${local.asg_name}"

  # The only secrets a node needs: its services' and the token that opens the per-stream
  # series of its /metrics to the collector.
  node_secret_names = ["AMQP_URL", "REDIS_URL", "NODE_SECRET"]
  node_secret_arns = merge(
    { for k in local.node_secret_names : k => var.secret_arns[k] },
    { METRICS_TOKEN = var.metrics_token_secret_arn },
  )

  environment = merge({ RUST_LOG = "info", LOG_FORMAT = "json" }, var.environment)

  # The AMI is pinned by ID: never looked up at plan time (a new AMI release would change the
  # launch template and roll the fleet on an unrelated apply), and not resolved from an SSM
  # parameter at launch either, because an instance refresh cannot roll back to such a
  # template. Moving it is a deliberate change of var.ami_id.
  image_id = var.ami_id

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
    srt_port          = var.srt_port
    http_port         = local.http_port
    metrics_namespace = var.metrics_namespace
    broker_api_url    = var.broker_api_url
    jobs_queue_name   = var.jobs_queue_name
    vhost_escaped     = urlencode(var.virtual_host)
    agent_script      = base64gzip(file("${path.module}/node_agent.sh"))
    drain_script      = base64gzip(file("${path.module}/node_drain.sh"))
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

# 1935 only from the ingest load balancer (publishes), see ingest.tf.
resource "aws_vpc_security_group_ingress_rule" "rtmp_from_lb" {
  security_group_id            = aws_security_group.this.id
  description                  = "RTMP ingest and health checks from the ingest load balancer"
  referenced_security_group_id = aws_security_group.ingest_lb.id
  ip_protocol                  = "tcp"
  from_port                    = local.ingest_port
  to_port                      = local.ingest_port
}

# SRT ingest (UDP) only from the ingest load balancer, see ingest.tf.
resource "aws_vpc_security_group_ingress_rule" "srt_from_lb" {
  security_group_id            = aws_security_group.this.id
  description                  = "SRT ingest from the ingest load balancer"
  referenced_security_group_id = aws_security_group.ingest_lb.id
  ip_protocol                  = "udp"
  from_port                    = var.srt_port
  to_port                      = var.srt_port
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

# The ingest target group's health check: GET /healthz on the HTTP port.
resource "aws_vpc_security_group_ingress_rule" "health_from_lb" {
  security_group_id            = aws_security_group.this.id
  description                  = "Health checks (/healthz) from the ingest load balancer"
  referenced_security_group_id = aws_security_group.ingest_lb.id
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
}

resource "aws_vpc_security_group_ingress_rule" "metrics_from_clients" {
  count = length(var.metrics_client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Prometheus scrapes of /metrics (the collector)"
  referenced_security_group_id = var.metrics_client_security_group_ids[count.index]
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
    sid = "OwnLifecycleHealthAndProtection"
    actions = [
      "autoscaling:CompleteLifecycleAction",
      "autoscaling:RecordLifecycleActionHeartbeat",
      "autoscaling:SetInstanceHealth",
      "autoscaling:SetInstanceProtection",
    ]
    resources = [local.asg_arn]
  }
  statement {
    sid       = "PublishScalingMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
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
  image_id               = local.image_id
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
  name                = local.asg_name
  vpc_zone_identifier = var.subnet_ids
  target_group_arns   = [aws_lb_target_group.ingest.arn, aws_lb_target_group.srt.arn]
  min_size            = var.min_size
  max_size            = var.max_size
  desired_capacity    = var.min_size
  # ELB: a node whose /healthz fails the ingest target group's check is replaced (its streams
  # move through the drain hook), not only taken out of the load balancer's rotation.
  health_check_type         = "ELB"
  health_check_grace_period = 300
  default_instance_warmup   = 180
  # Every node starts protected; the node agent clears the protection while the node holds no
  # stream and sets it again when it takes one, so scale-in only ever removes empty nodes.
  protect_from_scale_in = true
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

  # The scaling policies own the desired capacity after creation. The launch template version
  # is moved by the instance refresh that terraform/deploy.sh starts (output instance_refresh),
  # never by Terraform: the AWS provider updates the group's version before it starts its own
  # refresh, so that refresh's rollback "restores" the new version (terraform-provider-aws
  # issue 34189) and a failing release is never rolled back.
  lifecycle {
    ignore_changes = [desired_capacity, launch_template]
  }
}

# Ingest: one Network Load Balancer in front of the whole group — RTMP on TCP 1935 and SRT on
# UDP var.srt_port — so tenants see a single ingest host and a publish lands on any node. The node that takes it registers
# the feed in Redis; the node running a stream that shows it pulls it over the relay port
# (METRICS_ADDR, 9091) from there. Nodes stay in private subnets: only the load balancer is
# reachable from outside, and only from ingest_allowed_cidrs.

locals {
  ingest_port = 1935
  # The node's HTTP port: /metrics, /healthz, stream snapshots (previews), the feed relay.
  http_port = 9091

  ingest_public = length(var.ingest_allowed_cidrs) > 0
  # An internal load balancer (no CIDR given) takes encoders from inside the VPC only.
  ingest_sources = local.ingest_public ? var.ingest_allowed_cidrs : [var.vpc_cidr_block]
  ingest_host    = var.ingest_domain_name != "" ? var.ingest_domain_name : aws_lb.ingest.dns_name
}

resource "aws_security_group" "ingest_lb" {
  name_prefix = "${var.name}-ingest-lb-"
  description = "RTMP ingest load balancer of ${var.name}: 1935 from allowed encoders, out to the render nodes"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-ingest-lb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "ingest_lb_srt" {
  count = length(local.ingest_sources)

  security_group_id = aws_security_group.ingest_lb.id
  description       = local.ingest_public ? "SRT from tenants' encoders" : "SRT from encoders inside the VPC"
  cidr_ipv4         = local.ingest_sources[count.index]
  ip_protocol       = "udp"
  from_port         = var.srt_port
  to_port           = var.srt_port
}

resource "aws_vpc_security_group_ingress_rule" "ingest_lb_rtmp" {
  count = length(local.ingest_sources)

  security_group_id = aws_security_group.ingest_lb.id
  description       = local.ingest_public ? "RTMP from tenants' encoders" : "RTMP from encoders inside the VPC"
  cidr_ipv4         = local.ingest_sources[count.index]
  ip_protocol       = "tcp"
  from_port         = local.ingest_port
  to_port           = local.ingest_port
}

# Forwarded publishes on 1935, health checks on the HTTP port.
resource "aws_vpc_security_group_egress_rule" "ingest_lb_to_nodes" {
  security_group_id            = aws_security_group.ingest_lb.id
  description                  = "RTMP to the render nodes"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = local.ingest_port
  to_port                      = local.ingest_port
}

resource "aws_vpc_security_group_egress_rule" "ingest_lb_srt_to_nodes" {
  security_group_id            = aws_security_group.ingest_lb.id
  description                  = "SRT to the render nodes"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "udp"
  from_port                    = var.srt_port
  to_port                      = var.srt_port
}

resource "aws_vpc_security_group_egress_rule" "ingest_lb_health" {
  security_group_id            = aws_security_group.ingest_lb.id
  description                  = "Health checks (/healthz) to the render nodes"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = local.http_port
  to_port                      = local.http_port
}

resource "aws_lb" "ingest" {
  #checkov:skip=CKV_AWS_91:NLB access logs exist only for TLS listeners; RTMP on 1935 is plain TCP. Each node logs every ingest connection (peer, key id, reason), and the VPC flow logs record the flows.
  name_prefix                      = "smig-"
  internal                         = !local.ingest_public
  load_balancer_type               = "network"
  subnets                          = var.load_balancer_subnet_ids
  security_groups                  = [aws_security_group.ingest_lb.id]
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.ingest_deletion_protection

  tags = merge(var.tags, { Name = "${var.name}-ingest" })
}

resource "aws_lb_target_group" "ingest" {
  name_prefix = "smig-"
  port        = local.ingest_port
  protocol    = "TCP"
  target_type = "instance"
  vpc_id      = var.vpc_id
  # The encoder's own address reaches the node (its logs name the real peer); the node's
  # security group still admits only the load balancer's group.
  preserve_client_ip = true
  # A node leaving the group (scale-in, refresh) is deregistered first, before its drain
  # (lifecycle hook) starts: after this delay its publishers are cut and the encoders
  # reconnect through the load balancer to another node, while the node's streams still pull
  # those feeds over the relay. The delay adds to every termination.
  deregistration_delay   = 30
  connection_termination = true

  # The node's own /healthz on its HTTP port. The group's health check type is ELB, so this is
  # also the signal that replaces a broken node (terraform/README.md, "A fleet that heals").
  health_check {
    protocol            = "HTTP"
    port                = tostring(local.http_port)
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "ingest" {
  load_balancer_arn = aws_lb.ingest.arn
  port              = local.ingest_port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ingest.arn
  }

  tags = var.tags
}

# SRT ingest (UDP): the node listens on SRT_ADDR. An NLB keeps a UDP flow (the encoder's
# address and port) on one target, so an SRT session stays on the node that took it. UDP
# target groups check health over TCP/HTTP only: the same /healthz as RTMP.
resource "aws_lb_target_group" "srt" {
  name_prefix          = "smsrt-"
  port                 = var.srt_port
  protocol             = "UDP"
  target_type          = "instance"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    protocol            = "HTTP"
    port                = tostring(local.http_port)
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "srt" {
  load_balancer_arn = aws_lb.ingest.arn
  port              = var.srt_port
  protocol          = "UDP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.srt.arn
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "ingest_unhealthy" {
  alarm_name          = "${var.name}-ingest-unhealthy"
  alarm_description   = "Render nodes fail the ingest target group's /healthz check; the group replaces them (health check type ELB). Runbook: docs/runbooks/target-down.md"
  namespace           = "AWS/NetworkELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = aws_lb.ingest.arn_suffix, TargetGroup = aws_lb_target_group.ingest.arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

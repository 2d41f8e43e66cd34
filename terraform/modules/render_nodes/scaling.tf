# Scaling on what the fleet is made of. The node agent (node_agent.sh) publishes, once a
# minute and per group, each node's free slots and the jobs queue's ready messages to the
# CloudWatch namespace var.metrics_namespace (dimension AutoScalingGroupName):
#   - scale out by one node when the fleet's free slots fall below min_free_slots;
#   - scale out in proportion to the jobs waiting (one node takes node_capacity jobs);
#   - scale in by one node when more than scale_in_free_slots slots have been free for 15
#     minutes; only nodes holding no stream are unprotected, so scale-in never moves a stream.
# No data is not "fine": each alarm notifies the alarm topic when its metric goes missing (the
# agents stopped publishing, or the management API stopped answering).

locals {
  fleet_dimensions    = { AutoScalingGroupName = local.asg_name }
  min_free_slots      = coalesce(var.min_free_slots, var.node_capacity)
  scale_in_free_slots = coalesce(var.scale_in_free_slots, 2 * var.node_capacity)
}

resource "aws_autoscaling_policy" "out_on_free_slots" {
  name                      = "${local.asg_name}-out-free-slots"
  autoscaling_group_name    = aws_autoscaling_group.this.name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  estimated_instance_warmup = 180

  step_adjustment {
    metric_interval_upper_bound = 0
    scaling_adjustment          = 1
  }
}

resource "aws_cloudwatch_metric_alarm" "free_slots_low" {
  alarm_name          = "${local.asg_name}-free-slots-low"
  alarm_description   = "Fewer than ${local.min_free_slots} free stream slots in the fleet: add a node. Runbook: docs/runbooks/job-backlog.md"
  namespace           = var.metrics_namespace
  metric_name         = "FreeSlots"
  dimensions          = local.fleet_dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 2
  threshold           = local.min_free_slots
  comparison_operator = "LessThanThreshold"
  # Missing: no agent published (no node runs, or all agents are broken).
  treat_missing_data        = "missing"
  alarm_actions             = [aws_autoscaling_policy.out_on_free_slots.arn]
  insufficient_data_actions = [var.alarm_topic_arn]
  tags                      = var.tags
}

# Jobs waiting in the queue mean no node has room: add nodes in proportion to the backlog.
resource "aws_autoscaling_policy" "out_on_backlog" {
  name                      = "${local.asg_name}-out-backlog"
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

resource "aws_cloudwatch_metric_alarm" "backlog" {
  alarm_name          = "${local.asg_name}-job-backlog"
  alarm_description   = "Start jobs wait in ${var.jobs_queue_name}: scale the render nodes out. Runbook: docs/runbooks/job-backlog.md"
  namespace           = var.metrics_namespace
  metric_name         = "JobsReady"
  dimensions          = local.fleet_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # Missing: the agents cannot read the queue (management API, credentials): say so.
  treat_missing_data        = "missing"
  alarm_actions             = [aws_autoscaling_policy.out_on_backlog.arn]
  insufficient_data_actions = [var.alarm_topic_arn]
  tags                      = var.tags
}

resource "aws_cloudwatch_metric_alarm" "backlog_persists" {
  alarm_name                = "${local.asg_name}-job-backlog-persists"
  alarm_description         = "Start jobs have waited for 15 minutes: the group is at max_size or new nodes fail to take jobs. Runbook: docs/runbooks/job-backlog.md"
  namespace                 = var.metrics_namespace
  metric_name               = "JobsReady"
  dimensions                = local.fleet_dimensions
  statistic                 = "Minimum"
  period                    = 300
  evaluation_periods        = 3
  threshold                 = 0
  comparison_operator       = "GreaterThanThreshold"
  treat_missing_data        = "missing"
  alarm_actions             = [var.alarm_topic_arn]
  ok_actions                = [var.alarm_topic_arn]
  insufficient_data_actions = [var.alarm_topic_arn]
  tags                      = var.tags
}

resource "aws_autoscaling_policy" "in_on_free_slots" {
  name                   = "${local.asg_name}-in-free-slots"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "SimpleScaling"
  adjustment_type        = "ChangeInCapacity"
  scaling_adjustment     = -1
  cooldown               = 600
}

resource "aws_cloudwatch_metric_alarm" "free_slots_high" {
  alarm_name          = "${local.asg_name}-free-slots-high"
  alarm_description   = "More than ${local.scale_in_free_slots} stream slots free for 15 minutes: remove one empty node (busy nodes are protected)."
  namespace           = var.metrics_namespace
  metric_name         = "FreeSlots"
  dimensions          = local.fleet_dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 15
  threshold           = local.scale_in_free_slots
  comparison_operator = "GreaterThanThreshold"
  # Never scale in on missing data.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_autoscaling_policy.in_on_free_slots.arn]
  tags               = var.tags
}

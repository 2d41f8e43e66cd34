# Data-store health in CloudWatch: Redis engine CPU (single-threaded) and memory. Runbook:
# docs/runbooks/datastore-down.md.

locals {
  alarms = var.alarm_topic_arn == "" ? {} : {
    engine_cpu = {
      description = "Redis engine CPU above 80 % (one thread serves every command): status and events lag."
      metric      = "EngineCPUUtilization"
      threshold   = 80
    }
    memory = {
      description = "Redis uses more than 80 % of its memory: keys will be evicted or writes refused."
      metric      = "DatabaseMemoryUsagePercentage"
      threshold   = 80
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name                = "${var.name}-redis-${each.key}"
  alarm_description         = "${each.value.description} Runbook: docs/runbooks/datastore-down.md"
  namespace                 = "AWS/ElastiCache"
  metric_name               = each.value.metric
  dimensions                = { ReplicationGroupId = aws_elasticache_replication_group.this.id }
  statistic                 = "Maximum"
  period                    = 300
  evaluation_periods        = 3
  threshold                 = each.value.threshold
  comparison_operator       = "GreaterThanThreshold"
  treat_missing_data        = "breaching"
  alarm_actions             = [var.alarm_topic_arn]
  ok_actions                = [var.alarm_topic_arn]
  insufficient_data_actions = [var.alarm_topic_arn]
  tags                      = var.tags
}

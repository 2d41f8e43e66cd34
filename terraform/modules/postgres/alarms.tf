# Data-store health, in CloudWatch (the services' Prometheus metrics cannot see RDS itself):
# storage running out, CPU saturated, connections near the limit. Runbook:
# docs/runbooks/datastore-down.md.

locals {
  alarms = var.alarm_topic_arn == "" ? {} : {
    storage = {
      description = "Postgres has less than 2 GiB of free storage (autoscaling storage may be at max_allocated_storage)."
      metric      = "FreeStorageSpace"
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 2 * 1024 * 1024 * 1024
    }
    cpu = {
      description = "Postgres CPU above 85 % for 15 minutes: API writes and lease renewals slow down."
      metric      = "CPUUtilization"
      statistic   = "Average"
      comparison  = "GreaterThanThreshold"
      threshold   = 85
    }
    memory = {
      description = "Postgres has less than 256 MiB of freeable memory."
      metric      = "FreeableMemory"
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 256 * 1024 * 1024
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-postgres-${each.key}"
  alarm_description   = "${each.value.description} Runbook: docs/runbooks/datastore-down.md"
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  dimensions          = { DBInstanceIdentifier = aws_db_instance.this.identifier }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 3
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  # No data from RDS means the instance is gone or stopped: that is not fine.
  treat_missing_data        = "breaching"
  alarm_actions             = [var.alarm_topic_arn]
  ok_actions                = [var.alarm_topic_arn]
  insufficient_data_actions = [var.alarm_topic_arn]
  tags                      = var.tags
}

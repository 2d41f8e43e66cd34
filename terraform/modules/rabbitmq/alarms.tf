# Broker health in CloudWatch: memory towards the high watermark (the broker then blocks every
# publisher) and free disk. Broker-level metrics exist on every engine version (per-queue ones
# do not on RabbitMQ 4). Runbook: docs/runbooks/datastore-down.md.

resource "aws_cloudwatch_metric_alarm" "memory" {
  count = var.alarm_topic_arn == "" ? 0 : 1

  alarm_name                = "${var.name}-rabbitmq-memory"
  alarm_description         = "RabbitMQ uses more than 80 % of its memory limit; at 100 % it blocks publishers. Runbook: docs/runbooks/datastore-down.md"
  evaluation_periods        = 3
  threshold                 = 0.8
  comparison_operator       = "GreaterThanThreshold"
  treat_missing_data        = "breaching"
  alarm_actions             = [var.alarm_topic_arn]
  ok_actions                = [var.alarm_topic_arn]
  insufficient_data_actions = [var.alarm_topic_arn]

  metric_query {
    id          = "ratio"
    expression  = "used / limit"
    label       = "memory used / limit"
    return_data = true
  }
  metric_query {
    id = "used"
    metric {
      namespace   = "AWS/AmazonMQ"
      metric_name = "RabbitMQMemUsed"
      dimensions  = { Broker = aws_mq_broker.this.broker_name }
      stat        = "Maximum"
      period      = 300
    }
  }
  metric_query {
    id = "limit"
    metric {
      namespace   = "AWS/AmazonMQ"
      metric_name = "RabbitMQMemLimit"
      dimensions  = { Broker = aws_mq_broker.this.broker_name }
      stat        = "Maximum"
      period      = 300
    }
  }

  tags = var.tags
}

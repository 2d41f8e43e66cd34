output "broker_id" {
  description = "Amazon MQ broker ID."
  value       = aws_mq_broker.this.id
}

output "broker_name" {
  description = "Broker name (CloudWatch dimension \"Broker\" of AWS/AmazonMQ metrics)."
  value       = aws_mq_broker.this.broker_name
}

output "amqps_endpoint" {
  description = "AMQP over TLS endpoint, \"amqps://host:5671\"."
  value       = aws_mq_broker.this.instances[0].endpoints[0]
}

output "management_api_url" {
  description = "Base URL of the RabbitMQ management API (HTTPS), e.g. for GET /api/queues/%2f/sm.jobs."
  value       = trimsuffix(aws_mq_broker.this.instances[0].console_url, "/")
}

output "console_url" {
  description = "RabbitMQ web console URL (reachable only from console_allowed_cidrs)."
  value       = aws_mq_broker.this.instances[0].console_url
}

output "username" {
  description = "Broker user of the services."
  value       = var.username
}

output "security_group_id" {
  description = "Security group of the broker."
  value       = aws_security_group.this.id
}

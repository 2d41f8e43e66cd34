output "kms_key_arn" {
  description = "KMS key of the secrets; also encrypts RDS, ElastiCache and EBS data at rest."
  value       = aws_kms_key.secrets.arn
}

# From the versions, not the secrets: a consumer (ECS task definition, launch template) then
# depends on the value being written, which waits for RDS, ElastiCache and Amazon MQ.
output "secret_arns" {
  description = "The services' secrets: ARN by environment variable name (JWT_SECRET, NODE_SECRET, DATABASE_URL, REDIS_URL, AMQP_URL), taken from the secret versions so that readers wait for the values."
  value       = { for k in local.secret_names : k => aws_secretsmanager_secret_version.this[k].arn }
}

output "metrics_token_arn" {
  description = "METRICS_TOKEN (the render nodes' /metrics bearer token): ARN of its secret version. Only the render nodes and the Prometheus collector read it."
  value       = aws_secretsmanager_secret_version.this["METRICS_TOKEN"].arn
}

output "admin_secret_arns" {
  description = "The operator tasks' secrets (DATABASE_ADMIN_URL, DATABASE_APP_PASSWORD, AMQP_ADMIN_PASSWORD, AMQP_APP_PASSWORD): ARN by name, from the secret versions. Never give them to the services."
  value       = { for k in local.admin_secret_names : k => aws_secretsmanager_secret_version.this[k].arn }
}

output "database_app_username" {
  description = "Postgres user of the services (created by the app-users task)."
  value       = var.database_app_username
}

output "amqp_app_username" {
  description = "RabbitMQ user of the services (created by the app-users task)."
  value       = var.amqp_app_username
}

output "database_password" {
  description = "Postgres master password (for the postgres module)."
  value       = random_password.database.result
  sensitive   = true
}

output "redis_auth_token" {
  description = "ElastiCache AUTH token (for the redis module)."
  value       = random_password.redis.result
  sensitive   = true
}

output "amqp_password" {
  description = "RabbitMQ admin password (for the rabbitmq module's broker user; the services use their own user)."
  value       = random_password.amqp.result
  sensitive   = true
}

output "kms_key_arn" {
  description = "KMS key of the secrets; also encrypts RDS, ElastiCache and EBS data at rest."
  value       = aws_kms_key.secrets.arn
}

output "secret_arns" {
  description = "Secret ARN by environment variable name (JWT_SECRET, NODE_SECRET, DATABASE_URL, REDIS_URL, AMQP_URL)."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
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
  description = "RabbitMQ password of the services (for the rabbitmq module)."
  value       = random_password.amqp.result
  sensitive   = true
}

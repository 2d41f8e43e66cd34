output "endpoint_address" {
  description = "Host name the services connect to (TLS): the primary endpoint, or in cluster mode the configuration endpoint."
  value       = var.cluster_mode ? aws_elasticache_replication_group.this.configuration_endpoint_address : aws_elasticache_replication_group.this.primary_endpoint_address
}

output "cluster_mode" {
  description = "Whether the group runs in cluster mode (the services then need a cluster client: REDIS_URL rediss+cluster://)."
  value       = var.cluster_mode
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "replication_group_id" {
  description = "Replication group ID (CloudWatch dimension)."
  value       = aws_elasticache_replication_group.this.id
}

output "security_group_id" {
  description = "Security group of the cache."
  value       = aws_security_group.this.id
}

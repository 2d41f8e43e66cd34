output "alb_dns_name" {
  description = "DNS name of the load balancer: point the API's domain (CNAME or alias) at it."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "internal_url" {
  description = "Base URL of the control plane inside the VPC (render nodes' CONTROL_PLANE_URL)."
  value       = "http://${aws_service_discovery_service.this.name}.${aws_service_discovery_private_dns_namespace.this.name}:${local.port}"
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "service_security_group_id" {
  description = "Security group of the tasks (allowed into Postgres, Redis and RabbitMQ)."
  value       = aws_security_group.service.id
}

output "task_definition_family" {
  description = "Task definition family of the service (tokens are signed on an operator machine, never as a task: its output would land in CloudWatch Logs)."
  value       = aws_ecs_task_definition.this.family
}

output "cluster_arn" {
  description = "ECS cluster ARN (other services, e.g. the Prometheus collector, run in it)."
  value       = aws_ecs_cluster.this.arn
}

output "namespace_id" {
  description = "Cloud Map private DNS namespace of the deployment."
  value       = aws_service_discovery_private_dns_namespace.this.id
}

output "namespace_name" {
  description = "Name of that namespace, e.g. \"sm-prod.internal\"."
  value       = aws_service_discovery_private_dns_namespace.this.name
}

output "internal_dns_name" {
  description = "Cloud Map name of the tasks: one A record per healthy task (MULTIVALUE), TTL 10 s."
  value       = "${aws_service_discovery_service.this.name}.${aws_service_discovery_private_dns_namespace.this.name}"
}

output "migrate_task_family" {
  description = "Task definition family of the one-off `control-plane migrate` run (terraform/deploy.sh runs it before the service update)."
  value       = aws_ecs_task_definition.migrate.family
}

output "app_users_task_family" {
  description = "Task definition family of the one-off app-users run (creates or re-passwords the services' Postgres and RabbitMQ users)."
  value       = aws_ecs_task_definition.app_users.family
}

output "ops_security_group_id" {
  description = "Security group of the one-off operator tasks (migrate, app-users): allowed to Postgres and the RabbitMQ management API."
  value       = aws_security_group.ops.id
}

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
  description = "Task definition family (run one-off commands such as `control-plane token` with it)."
  value       = aws_ecs_task_definition.this.family
}

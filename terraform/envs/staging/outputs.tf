output "api_load_balancer_dns_name" {
  description = "Point the API's domain name (the ACM certificate's) at this name (CNAME or Route 53 alias)."
  value       = module.stream_manager.api_load_balancer_dns_name
}

output "api_load_balancer_zone_id" {
  description = "Hosted zone ID of the load balancer, for a Route 53 alias record."
  value       = module.stream_manager.api_load_balancer_zone_id
}

output "ingest_url" {
  description = "RTMP URL tenants' encoders publish to (the control plane's INGEST_URL, the ingestUrl of each new key)."
  value       = module.stream_manager.ingest_url
}

output "srt_ingest_url" {
  description = "SRT URL tenants' encoders publish to (UDP, same host as ingest_url)."
  value       = module.stream_manager.srt_ingest_url
}

output "ingest_load_balancer_dns_name" {
  description = "DNS name of the RTMP ingest load balancer (CNAME or alias target of ingest_domain_name)."
  value       = module.stream_manager.ingest_load_balancer_dns_name
}

output "ingest_load_balancer_zone_id" {
  description = "Hosted zone ID of the ingest load balancer, for a Route 53 alias record."
  value       = module.stream_manager.ingest_load_balancer_zone_id
}

output "control_plane_internal_url" {
  description = "Control plane URL inside the VPC (the render nodes' CONTROL_PLANE_URL)."
  value       = module.stream_manager.control_plane_internal_url
}

output "control_plane_repository_url" {
  description = "Push the control-plane image here."
  value       = module.stream_manager.control_plane_repository_url
}

output "render_node_repository_url" {
  description = "Push the render-node image here."
  value       = module.stream_manager.render_node_repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the control plane."
  value       = module.stream_manager.ecs_cluster_name
}

output "control_plane_service_name" {
  description = "ECS service of the control plane."
  value       = module.stream_manager.control_plane_service_name
}

output "control_plane_task_family" {
  description = "Task definition family of the control-plane service."
  value       = module.stream_manager.control_plane_task_family
}

output "private_subnet_ids" {
  description = "Private subnets (for one-off ECS tasks)."
  value       = module.stream_manager.private_subnet_ids
}

output "control_plane_security_group_id" {
  description = "Security group of the control-plane tasks (for one-off ECS tasks)."
  value       = module.stream_manager.control_plane_security_group_id
}

output "render_nodes_autoscaling_group" {
  description = "Autoscaling group of the render nodes (scale by hand with set-desired-capacity)."
  value       = module.stream_manager.render_nodes_autoscaling_group
}

output "rabbitmq_console_url" {
  description = "RabbitMQ console (reachable only from rabbitmq_console_allowed_cidrs)."
  value       = module.stream_manager.rabbitmq_console_url
}

output "secret_arns" {
  description = "Secrets Manager ARN by variable name (values are never output)."
  value       = module.stream_manager.secret_arns
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.stream_manager.alarm_topic_arn
}

output "log_groups" {
  description = "CloudWatch log groups of the services."
  value       = module.stream_manager.log_groups
}

output "migrate_task_family" {
  description = "One-off `control-plane migrate` task definition (terraform/deploy.sh)."
  value       = module.stream_manager.migrate_task_family
}

output "app_users_task_family" {
  description = "One-off task creating or re-passwording the services' database and broker users (terraform/deploy.sh)."
  value       = module.stream_manager.app_users_task_family
}

output "ops_security_group_id" {
  description = "Security group of the one-off operator tasks (terraform/deploy.sh)."
  value       = module.stream_manager.ops_security_group_id
}

output "prometheus_query_url" {
  description = "Amazon Managed Prometheus query endpoint (Grafana data source with SigV4 auth)."
  value       = module.stream_manager.prometheus_query_url
}

output "render_nodes_instance_refresh" {
  description = "Input of `aws autoscaling start-instance-refresh --cli-input-json` (terraform/deploy.sh)."
  value       = module.stream_manager.render_nodes_instance_refresh
}

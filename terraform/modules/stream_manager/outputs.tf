output "api_load_balancer_dns_name" {
  description = "Point the API's domain name (the ACM certificate's) at this name."
  value       = module.control_plane.alb_dns_name
}

output "api_load_balancer_zone_id" {
  description = "Hosted zone ID of the load balancer, for a Route 53 alias record."
  value       = module.control_plane.alb_zone_id
}

output "ingest_url" {
  description = "RTMP URL tenants' encoders publish to (INGEST_URL, returned with each new stream key as ingestUrl)."
  value       = module.render_nodes.ingest_url
}

output "srt_ingest_url" {
  description = "SRT URL tenants' encoders publish to (UDP ingest_srt_port on the ingest load balancer)."
  value       = module.render_nodes.srt_ingest_url
}

output "ingest_load_balancer_dns_name" {
  description = "DNS name of the RTMP ingest load balancer: point ingest_domain_name at it."
  value       = module.render_nodes.ingest_load_balancer_dns_name
}

output "ingest_load_balancer_zone_id" {
  description = "Hosted zone ID of the ingest load balancer, for a Route 53 alias record."
  value       = module.render_nodes.ingest_load_balancer_zone_id
}

output "control_plane_internal_url" {
  description = "Control plane URL inside the VPC (the nodes' CONTROL_PLANE_URL)."
  value       = module.control_plane.internal_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the control plane."
  value       = module.control_plane.cluster_name
}

output "control_plane_service_name" {
  description = "ECS service of the control plane."
  value       = module.control_plane.service_name
}

output "control_plane_task_family" {
  description = "Task definition family of the control-plane service."
  value       = module.control_plane.task_definition_family
}

output "control_plane_repository_url" {
  description = "ECR repository of the control-plane image."
  value       = module.registry.control_plane_repository_url
}

output "render_node_repository_url" {
  description = "ECR repository of the render-node image."
  value       = module.registry.render_node_repository_url
}

output "render_nodes_autoscaling_group" {
  description = "Autoscaling group of the render nodes."
  value       = module.render_nodes.autoscaling_group_name
}

output "render_nodes_security_group_id" {
  description = "Security group of the render nodes (RTMP 1935 from the ingest load balancer, relay 9091 between nodes)."
  value       = module.render_nodes.security_group_id
}

output "private_subnet_ids" {
  description = "Private subnets (for one-off ECS tasks)."
  value       = module.network.private_subnet_ids
}

output "control_plane_security_group_id" {
  description = "Security group of the control-plane tasks (for one-off ECS tasks)."
  value       = module.control_plane.service_security_group_id
}

output "rabbitmq_console_url" {
  description = "RabbitMQ console (reachable only from rabbitmq_console_allowed_cidrs)."
  value       = module.rabbitmq.console_url
}

output "secret_arns" {
  description = "Secrets Manager ARN by variable name (values are never output)."
  value       = module.secrets.secret_arns
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.observability.alarm_topic_arn
}

output "log_groups" {
  description = "CloudWatch log groups of the services."
  value = {
    control_plane = module.observability.control_plane_log_group_name
    render_node   = module.observability.render_node_log_group_name
  }
}

output "migrate_task_family" {
  description = "One-off `control-plane migrate` task definition (terraform/deploy.sh runs it before the service update)."
  value       = module.control_plane.migrate_task_family
}

output "app_users_task_family" {
  description = "One-off task creating or re-passwording the services' Postgres and RabbitMQ users."
  value       = module.control_plane.app_users_task_family
}

output "ops_security_group_id" {
  description = "Security group of the one-off operator tasks."
  value       = module.control_plane.ops_security_group_id
}

output "control_plane_internal_dns_name" {
  description = "Cloud Map name of the control-plane tasks: one A record per healthy task (the nodes try each)."
  value       = module.control_plane.internal_dns_name
}

output "prometheus_query_url" {
  description = "Amazon Managed Prometheus query endpoint (Grafana data source with SigV4); empty when enable_prometheus is false."
  value       = var.enable_prometheus ? module.prometheus[0].query_url : ""
}

output "render_nodes_instance_refresh" {
  description = "Input of `aws autoscaling start-instance-refresh --cli-input-json` (terraform/deploy.sh)."
  value       = module.render_nodes.instance_refresh
}

output "workspace_id" {
  description = "Amazon Managed Prometheus workspace (query it with Grafana's SigV4 data source)."
  value       = aws_prometheus_workspace.this.id
}

output "query_url" {
  description = "Prometheus query endpoint of the workspace (Grafana data source URL, SigV4 auth, service aps)."
  value       = aws_prometheus_workspace.this.prometheus_endpoint
}

output "collector_security_group_id" {
  description = "Security group of the collector: the services let it scrape their /metrics."
  value       = aws_security_group.collector.id
}

output "otlp_endpoint" {
  description = "OTLP/HTTP endpoint of the collector inside the VPC (the services' OTEL_EXPORTER_OTLP_ENDPOINT)."
  value       = "http://${aws_service_discovery_service.collector.name}.${var.namespace_name}:4318"
}

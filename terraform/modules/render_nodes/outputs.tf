output "autoscaling_group_name" {
  description = "Name of the render nodes' autoscaling group."
  value       = aws_autoscaling_group.this.name
}

output "security_group_id" {
  description = "Security group of the nodes (the only one opening RTMP ingest, 1935)."
  value       = aws_security_group.this.id
}

output "launch_template_id" {
  description = "Launch template of the nodes."
  value       = aws_launch_template.this.id
}

output "iam_role_name" {
  description = "Instance role of the nodes."
  value       = aws_iam_role.this.name
}

output "lifecycle_hook_name" {
  description = "Termination lifecycle hook that waits for a node to drain."
  value       = local.hook_name
}

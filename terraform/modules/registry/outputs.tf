output "control_plane_repository_url" {
  description = "Push the control-plane image here: <url>:<tag>."
  value       = aws_ecr_repository.this["control-plane"].repository_url
}

output "render_node_repository_url" {
  description = "Push the render-node image here: <url>:<tag>."
  value       = aws_ecr_repository.this["render-node"].repository_url
}

output "repository_arns" {
  description = "ARNs of both repositories."
  value       = [for r in aws_ecr_repository.this : r.arn]
}

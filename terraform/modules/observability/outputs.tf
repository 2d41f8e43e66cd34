output "logs_kms_key_arn" {
  description = "KMS key encrypting the log groups and the alarm topic."
  value       = aws_kms_key.logs.arn
}

output "control_plane_log_group_name" {
  description = "Log group of the control-plane tasks."
  value       = aws_cloudwatch_log_group.control_plane.name
}

output "render_node_log_group_name" {
  description = "Log group of the render-node containers."
  value       = aws_cloudwatch_log_group.render_node.name
}

output "render_node_log_group_arn" {
  description = "ARN of the render-node log group."
  value       = aws_cloudwatch_log_group.render_node.arn
}

output "waf_log_group_arn" {
  description = "ARN of the WAF log group."
  value       = aws_cloudwatch_log_group.waf.arn
}

output "redis_slow_log_group_name" {
  description = "Log group receiving the Redis slow log."
  value       = aws_cloudwatch_log_group.redis_slow.name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

# Through the bucket policy, not the bucket: the load balancer that turns access logs on checks
# that it may write, and fails when it is created before the policy exists (a known race of the
# AWS provider). Reading the name from the policy makes every consumer wait for it.
output "access_logs_bucket" {
  description = "S3 bucket receiving the load balancer's access logs (prefix \"alb\"), available once its bucket policy is in place."
  value       = aws_s3_bucket_policy.access_logs.bucket
}

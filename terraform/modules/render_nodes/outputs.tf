output "autoscaling_group_name" {
  description = "Name of the render nodes' autoscaling group."
  value       = aws_autoscaling_group.this.name
}

output "security_group_id" {
  description = "Security group of the nodes (RTMP 1935 from the ingest load balancer only, the relay port 9091 between nodes and from the control plane)."
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

output "ingest_url" {
  description = "RTMP URL encoders publish to (the control plane's INGEST_URL, returned with each new key): rtmp://<ingest_domain_name or the load balancer's DNS name>/live."
  value       = "rtmp://${local.ingest_host}/live"
}

output "srt_ingest_url" {
  description = "SRT URL encoders publish to (UDP srt_port on the ingest load balancer): srt://<ingest_domain_name or the load balancer's DNS name>:<srt_port>."
  value       = "srt://${local.ingest_host}:${var.srt_port}"
}

output "ingest_load_balancer_dns_name" {
  description = "DNS name of the ingest load balancer: point ingest_domain_name at it (CNAME or Route 53 alias)."
  value       = aws_lb.ingest.dns_name
}

output "ingest_load_balancer_zone_id" {
  description = "Hosted zone of the ingest load balancer, for a Route 53 alias record."
  value       = aws_lb.ingest.zone_id
}

output "ingest_load_balancer_security_group_id" {
  description = "Security group of the ingest load balancer (its inbound rules are the ingest allow list)."
  value       = aws_security_group.ingest_lb.id
}

# The refresh terraform/deploy.sh starts (aws autoscaling start-instance-refresh
# --cli-input-json): the new launch template version as the desired configuration, so a refresh
# whose new nodes fail their health checks rolls back to the version the group ran before.
output "instance_refresh" {
  description = "Input of `aws autoscaling start-instance-refresh --cli-input-json`: the launch template's newest version, with surge, rollback and busy (protected) nodes refreshed too."
  value = jsonencode({
    AutoScalingGroupName = aws_autoscaling_group.this.name
    Strategy             = "Rolling"
    DesiredConfiguration = {
      LaunchTemplate = {
        LaunchTemplateId = aws_launch_template.this.id
        Version          = tostring(aws_launch_template.this.latest_version)
      }
    }
    Preferences = {
      MinHealthyPercentage      = var.instance_refresh_min_healthy_percentage
      MaxHealthyPercentage      = var.instance_refresh_max_healthy_percentage
      InstanceWarmup            = 180
      SkipMatching              = true
      AutoRollback              = true
      ScaleInProtectedInstances = "Refresh"
      StandbyInstances          = "Terminate"
    }
  })
}

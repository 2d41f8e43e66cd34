output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones the subnets are in."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnet IDs, one per AZ (load balancer, NAT gateways, render nodes)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs, one per AZ (control plane, databases, broker)."
  value       = aws_subnet.private[*].id
}

output "nat_public_ips" {
  description = "Egress addresses of the private subnets (allow-list them at RTMP destinations if needed)."
  value       = aws_eip.nat[*].public_ip
}

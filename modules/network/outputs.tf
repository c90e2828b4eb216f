output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (where Batch runs), in availability-zone order."
  value       = [for az in local.azs : try(aws_subnet.private[az].id, null)]
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (NAT gateway only), in availability-zone order."
  value       = [for az in local.azs : try(aws_subnet.public[az].id, null)]
}

output "security_group_id" {
  description = "ID of the security group for Batch compute (HTTPS egress only)."
  value       = try(aws_security_group.batch.id, null)
}

output "nat_public_ip" {
  description = "Public IP address of the NAT gateway (what outside services see)."
  value       = try(aws_eip.nat.public_ip, null)
}

output "flow_log_group_name" {
  description = "Name of the VPC flow-log group."
  value       = try(aws_cloudwatch_log_group.flow_logs.name, null)
}

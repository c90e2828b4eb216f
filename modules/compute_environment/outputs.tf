output "arn" {
  description = "ARN of the compute environment."
  value       = try(aws_batch_compute_environment.this.arn, null)
}

output "name" {
  description = "Name of the compute environment (the prefix plus a random suffix)."
  value       = try(aws_batch_compute_environment.this.compute_environment_name, null)
}

output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster Batch manages for the compute environment."
  value       = try(aws_batch_compute_environment.this.ecs_cluster_arn, null)
}

output "instance_role_arn" {
  description = "ARN of the instance role (EC2 kinds; null for Fargate)."
  value       = try(aws_iam_role.instance[0].arn, null)
}

output "instance_profile_arn" {
  description = "ARN of the instance profile (EC2 kinds; null for Fargate)."
  value       = try(aws_iam_instance_profile.instance[0].arn, null)
}

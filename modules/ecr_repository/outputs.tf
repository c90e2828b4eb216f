output "repository_arn" {
  description = "ARN of the repository."
  value       = try(aws_ecr_repository.this.arn, null)
}

output "repository_name" {
  description = "Name of the repository."
  value       = try(aws_ecr_repository.this.name, null)
}

output "repository_url" {
  description = "URL of the repository (<registry>/<name>), for docker push and image references."
  value       = try(aws_ecr_repository.this.repository_url, null)
}

output "registry_id" {
  description = "Account ID of the registry holding the repository."
  value       = try(aws_ecr_repository.this.registry_id, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the images."
  value       = try(aws_ecr_repository.this.encryption_configuration[0].kms_key, null)
}

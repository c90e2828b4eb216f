output "arn" {
  description = "ARN of the job queue."
  value       = try(aws_batch_job_queue.this.arn, null)
}

output "name" {
  description = "Name of the job queue."
  value       = try(aws_batch_job_queue.this.name, null)
}

output "arn" {
  description = "ARN of the job queue."
  value       = try(aws_batch_job_queue.this.arn, null)
}

output "name" {
  description = "Name of the job queue."
  value       = try(aws_batch_job_queue.this.name, null)
}

output "scheduling_policy_arn" {
  description = "ARN of the fair-share scheduling policy (null for a first-in-first-out queue)."
  value       = try(aws_batch_scheduling_policy.this[0].arn, null)
}

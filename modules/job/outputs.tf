output "job_definition_arn" {
  description = "ARN of the current job definition revision."
  value       = try(aws_batch_job_definition.this.arn, null)
}

output "job_definition_arn_prefix" {
  description = "ARN of the job definition without revision (submits the latest revision); known at plan time."
  value       = local.job_definition_arn_prefix
}

output "job_definition_name" {
  description = "Name of the job definition."
  value       = try(aws_batch_job_definition.this.name, null)
}

output "job_definition_revision" {
  description = "Revision of the current job definition."
  value       = try(aws_batch_job_definition.this.revision, null)
}

output "log_group_name" {
  description = "Name of the job's log group."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "job_role_arn" {
  description = "ARN of the role the job's code runs as."
  value       = try(aws_iam_role.job.arn, null)
}

output "execution_role_arn" {
  description = "ARN of the role that pulls the image, writes logs and reads secrets."
  value       = try(aws_iam_role.execution.arn, null)
}

output "schedule_arn" {
  description = "ARN of the schedule (null without one)."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}

output "event_rule_arns" {
  description = "ARNs of the S3 trigger rules, in the order of s3_triggers."
  value       = [for i in range(length(local.s3_triggers)) : try(aws_cloudwatch_event_rule.s3[tostring(i)].arn, null)]
}

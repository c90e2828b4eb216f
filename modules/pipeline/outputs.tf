output "state_machine_arn" {
  description = "ARN of the pipeline's state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the pipeline's state machine."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the role the state machine runs as."
  value       = aws_iam_role.state_machine.arn
}

output "log_group_name" {
  description = "Log group of the state machine's execution history."
  value       = aws_cloudwatch_log_group.this.name
}

output "schedule_arn" {
  description = "ARN of the schedule that starts executions, or null."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}

output "event_rule_arns" {
  description = "ARNs of the EventBridge rules of the S3 triggers."
  value       = [for r in aws_cloudwatch_event_rule.s3 : r.arn]
}

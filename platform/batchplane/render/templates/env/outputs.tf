output "job_queue_arns" {
  description = "Job queue ARNs by spec name."
  value       = { for k, q in module.queue : k => q.arn }
}

output "job_definition_arns" {
  description = "ARNs of the current job definition revisions by spec name."
  value       = { for k, j in module.job : k => j.job_definition_arn }
}

output "job_definition_names" {
  description = "Job definition names by spec name (submitting by name runs the latest revision)."
  value       = { for k, j in module.job : k => j.job_definition_name }
}

output "log_group_names" {
  description = "Log group names of the jobs by spec name."
  value       = { for k, j in module.job : k => j.log_group_name }
}

output "vpc_id" {
  description = "VPC the environment runs in (created or given)."
  value       = var.network.create ? try(module.network[0].vpc_id, null) : var.network.vpc_id
}

output "subnet_ids" {
  description = "Subnets the compute environments use."
  value       = local.subnet_ids
}

output "state_machine_arns" {
  description = "Pipeline state machine ARNs by spec name."
  value       = { for k, p in module.pipeline : k => p.state_machine_arn }
}

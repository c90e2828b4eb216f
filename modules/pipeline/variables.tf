variable "prefix" {
  description = "Name prefix (\"<platform>-<environment>\"): AWS names are \"<prefix>-<name>[-suffix]\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.prefix))
    error_message = "prefix may hold letters, digits, '_' and '-'."
  }
}

variable "name" {
  description = "Name of the pipeline."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.name))
    error_message = "name may hold letters, digits, '_' and '-'."
  }
}

variable "definition" {
  description = "Amazon States Language definition of the state machine (JSON text). Every Batch job queue and job definition it submits to must be in job_queue_arns and job_definition_arns."
  type        = string

  validation {
    condition     = can(jsondecode(var.definition).StartAt) && can(jsondecode(var.definition).States)
    error_message = "definition must be a JSON state machine definition with StartAt and States."
  }
}

variable "job_queue_arns" {
  description = "Job queues the steps submit to: the role may submit to exactly these."
  type        = list(string)

  validation {
    condition     = length(var.job_queue_arns) > 0 && alltrue([for arn in var.job_queue_arns : can(regex("^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-queue/", arn))])
    error_message = "job_queue_arns must list at least one job queue ARN."
  }
}

variable "job_definition_arns" {
  description = "Job definitions the steps submit, as ARNs without revision (the latest ACTIVE revision runs): the role may submit exactly these and their revisions."
  type        = list(string)

  validation {
    condition     = length(var.job_definition_arns) > 0 && alltrue([for arn in var.job_definition_arns : can(regex("^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-definition/[A-Za-z0-9_-]+$", arn))])
    error_message = "job_definition_arns must list at least one job definition ARN without revision."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machine's execution log group."
  type        = number
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the execution log group (its policy must admit CloudWatch Logs)."
  type        = string
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression that starts an execution (cron(...), rate(...), at(...)); null for none."
  type        = string
  default     = null
}

variable "schedule_kms_key_arn" {
  description = "KMS key that encrypts the schedule's target input; required with schedule_expression."
  type        = string
  default     = null
}

variable "s3_triggers" {
  description = "Object-created events (bucket with EventBridge notifications on, optional key prefix and suffix) that start an execution with {bucket, key} as input."
  type = list(object({
    bucket = string
    prefix = optional(string)
    suffix = optional(string)
  }))
  default = []
}

variable "tags" {
  description = "Tags of every resource (the root's provider adds its default tags too)."
  type        = map(string)
  default     = {}
}

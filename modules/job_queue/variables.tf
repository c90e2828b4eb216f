variable "name" {
  description = "Name of the job queue."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.name))
    error_message = "name may hold letters, digits, '_' and '-', at most 128."
  }
}

variable "priority" {
  description = "Priority among queues sharing compute environments; higher runs first."
  type        = number

  validation {
    condition     = var.priority >= 0 && var.priority <= 1000 && floor(var.priority) == var.priority
    error_message = "priority must be a whole number from 0 to 1000."
  }
}

variable "compute_environment_arns" {
  description = "ARNs of the compute environments, in fallback order (all EC2 or all Fargate)."
  type        = list(string)

  validation {
    condition     = length(var.compute_environment_arns) >= 1 && length(var.compute_environment_arns) <= 3
    error_message = "A job queue takes one to three compute environments."
  }
}

variable "scheduling_policy_arn" {
  description = "ARN of a fair-share scheduling policy. null means first in, first out."
  type        = string
  default     = null
}

variable "runnable_timeout_seconds" {
  description = "How long a job may wait RUNNABLE for lack of instance capacity before it is cancelled (600 to 86400). null means 3600."
  type        = number
  default     = null

  validation {
    condition     = var.runnable_timeout_seconds == null ? true : var.runnable_timeout_seconds >= 600 && var.runnable_timeout_seconds <= 86400
    error_message = "runnable_timeout_seconds must be between 600 and 86400."
  }
}

variable "emulator_compatible" {
  description = "Leave out job_state_time_limit_action, which the local AWS emulator (moto) does not store. null means false."
  type        = bool
  default     = null
}

variable "tags" {
  description = "Tags of the job queue. null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

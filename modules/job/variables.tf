variable "prefix" {
  description = "Name prefix (\"<platform>-<environment>\"): AWS names are \"<prefix>-<name>[-suffix]\", the log group \"/aws/batch/<prefix>/<name>\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.prefix))
    error_message = "prefix may hold letters, digits, '_' and '-'."
  }
}

variable "name" {
  description = "Name of the job type; also the log stream prefix."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.name))
    error_message = "name may hold letters, digits, '_' and '-'."
  }
}

variable "image" {
  description = "Container image reference (repository@sha256:... or repository:tag)."
  type        = string
}

variable "image_repository_arn" {
  description = "ECR repository of the image, on which the execution role may pull. null for images outside ECR."
  type        = string
  default     = null
}

variable "job_queue_arn" {
  description = "Queue that schedules and triggers submit to."
  type        = string
}

variable "platform" {
  description = "Platform capability: EC2 or FARGATE (must match the queue's compute environments)."
  type        = string

  validation {
    condition     = contains(["EC2", "FARGATE"], var.platform)
    error_message = "platform must be EC2 or FARGATE."
  }
}

variable "vcpus" {
  description = "vCPUs reserved for the container (at least 1 on EC2; a Fargate size on FARGATE)."
  type        = number

  validation {
    condition     = var.vcpus > 0
    error_message = "vcpus must be positive."
  }
}

variable "memory_mib" {
  description = "Memory hard limit of the container, in MiB (on Fargate it must pair with vcpus)."
  type        = number

  validation {
    condition     = var.memory_mib >= 4 && floor(var.memory_mib) == var.memory_mib
    error_message = "memory_mib must be a whole number of at least 4."
  }
}

variable "command" {
  description = "Command of the container; may use Ref::<parameter>. null or empty means the image's default."
  type        = list(string)
  default     = null
}

variable "parameters" {
  description = "Default values of the Ref::<name> placeholders. null means none."
  type        = map(string)
  default     = null
}

variable "environment" {
  description = "Plain environment variables of the container (never secrets). null means none."
  type        = map(string)
  default     = null

  validation {
    condition     = alltrue([for k in keys(coalesce(var.environment, {})) : !startswith(k, "AWS_BATCH")])
    error_message = "Environment variable names starting with AWS_BATCH are reserved by AWS Batch."
  }
}

variable "secrets" {
  description = "Secret environment variables: name to the ARN of a Secrets Manager secret (optionally with a JSON key suffix) or an SSM parameter. null means none."
  type        = map(string)
  default     = null

  validation {
    condition     = alltrue([for arn in values(coalesce(var.secrets, {})) : can(regex("^arn:[a-z-]+:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", arn))])
    error_message = "Every secret must be the ARN of a Secrets Manager secret or an SSM parameter."
  }
}

variable "gpus" {
  description = "Physical GPUs reserved for the container (a GPU resource requirement; EC2 only, on instance types with GPUs). null means none."
  type        = number
  default     = null

  validation {
    condition     = var.gpus == null ? true : var.gpus >= 1 && floor(var.gpus) == var.gpus
    error_message = "gpus must be a whole number of at least 1."
  }
}

variable "timeout_seconds" {
  description = "Time after which an attempt is stopped, in seconds."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 60 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number of at least 60."
  }
}

variable "retry_attempts" {
  description = "Number of attempts, 1 to 10. null means 1."
  type        = number
  default     = null

  validation {
    condition     = var.retry_attempts == null ? true : var.retry_attempts >= 1 && var.retry_attempts <= 10 && floor(var.retry_attempts) == var.retry_attempts
    error_message = "retry_attempts must be a whole number from 1 to 10."
  }
}

variable "on_exit" {
  description = "Retry conditions, first match wins; the module appends a catch-all exit. null means none."
  type = list(object({
    action           = string
    on_exit_code     = optional(string)
    on_reason        = optional(string)
    on_status_reason = optional(string)
  }))
  default = null

  validation {
    condition     = length(coalesce(var.on_exit, [])) <= 4
    error_message = "on_exit takes at most 4 entries (AWS allows 5, the module adds the catch-all)."
  }

  validation {
    condition = alltrue([for e in coalesce(var.on_exit, []) :
      contains(["retry", "exit"], lower(e.action)) && anytrue([e.on_exit_code != null, e.on_reason != null, e.on_status_reason != null])
    ])
    error_message = "Each on_exit entry needs action retry or exit and at least one of on_exit_code, on_reason, on_status_reason."
  }

  validation {
    condition     = alltrue([for e in coalesce(var.on_exit, []) : e.on_exit_code == null ? true : can(regex("^[0-9]*\\*?$", e.on_exit_code))])
    error_message = "on_exit_code may hold digits only, optionally ending with '*'."
  }
}

variable "policy_statements" {
  description = "Statements of the job role's inline policy. null or empty means the job role has no permissions."
  type = list(object({
    sid       = optional(string)
    effect    = string
    actions   = list(string)
    resources = list(string)
  }))
  default = null

  validation {
    condition = alltrue([for s in coalesce(var.policy_statements, []) :
      contains(["Allow", "Deny"], s.effect) && length(s.actions) > 0 && length(s.resources) > 0 && (s.sid == null ? true : can(regex("^[A-Za-z0-9]+$", s.sid)))
    ])
    error_message = "Each statement needs effect Allow or Deny, at least one action and one resource, and an alphanumeric sid (or none)."
  }

  validation {
    condition     = length(compact([for s in coalesce(var.policy_statements, []) : s.sid])) == length(distinct(compact([for s in coalesce(var.policy_statements, []) : s.sid])))
    error_message = "Statement sids must be unique."
  }
}

variable "log_retention_days" {
  description = "Retention of the job's log group, in days (a value CloudWatch Logs accepts)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group; its policy must let CloudWatch Logs use it. null means CloudWatch's own encryption."
  type        = string
  default     = null
}

variable "assign_public_ip" {
  description = "Give Fargate tasks a public IP (needed in subnets without a NAT gateway). Ignored on EC2. null means false."
  type        = bool
  default     = null
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression (cron(...), rate(...) or at(...)) that submits the job. null means no schedule."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_expression == null ? true : can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_kms_key_arn" {
  description = "Customer managed KMS key that encrypts the schedule's target input. The scheduler role must be allowed kms:Decrypt on it. null means an AWS owned key."
  type        = string
  default     = null
}

variable "share_identifier" {
  description = "Fair-share identifier that scheduled runs are submitted with (a fair-share queue refuses jobs without one; S3 triggers cannot pass it). null means none."
  type        = string
  default     = null

  validation {
    condition     = var.share_identifier == null ? true : can(regex("^[A-Za-z0-9_]{1,255}$", var.share_identifier))
    error_message = "share_identifier may hold letters, digits and '_', at most 255."
  }
}

variable "array_size" {
  description = "Scheduled and S3-triggered runs are array jobs of this many children (2 to 10000); each child reads its index from AWS_BATCH_JOB_ARRAY_INDEX. null means single jobs."
  type        = number
  default     = null

  validation {
    condition     = var.array_size == null ? true : var.array_size >= 2 && var.array_size <= 10000 && floor(var.array_size) == var.array_size
    error_message = "array_size must be a whole number from 2 to 10000."
  }
}

variable "s3_triggers" {
  description = "Submit the job when an object is created in a bucket (the bucket must send events to EventBridge); parameter names the job parameter that receives s3://<bucket>/<key>. null means none."
  type = list(object({
    bucket    = string
    prefix    = optional(string)
    suffix    = optional(string)
    parameter = optional(string)
  }))
  default = null

  validation {
    condition     = length(coalesce(var.s3_triggers, [])) <= 10
    error_message = "s3_triggers takes at most 10 entries."
  }

  validation {
    condition = alltrue([for t in coalesce(var.s3_triggers, []) :
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", t.bucket)) && t.prefix != "" && t.suffix != "" && (t.parameter == null ? true : can(regex("^[A-Za-z0-9_-]+$", t.parameter)))
    ])
    error_message = "Each trigger needs a valid bucket name, a non-empty prefix and suffix when given, and a parameter of letters, digits, '_' or '-'."
  }
}

variable "tags" {
  description = "Tags of every resource (the job definition propagates them to its tasks). null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

# Inputs of an environment root. batchplane writes every value into
# terraform.tfvars.json from platform.yaml; nothing here has a default that
# the spec could not override.

variable "platform" {
  description = "Platform name from the spec; the first part of every AWS name."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, test, prod, ...)."
  type        = string
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "account_id" {
  description = "The only AWS account this root may touch (allowed_account_ids)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "tags" {
  description = "Default tags of every taggable resource (spec tags plus platform, environment, managed-by)."
  type        = map(string)
}

variable "log_retention_days" {
  description = "Retention of the environment's log groups (job logs, VPC flow logs)."
  type        = number
}

variable "network" {
  description = "Either create = true with cidr and availability_zones, or an existing vpc_id, subnet_ids and security_group_ids."
  type = object({
    create             = bool
    cidr               = optional(string)
    availability_zones = optional(number)
    vpc_id             = optional(string)
    subnet_ids         = optional(list(string))
    security_group_ids = optional(list(string))
    assign_public_ip   = bool
  })
}

variable "compute_environments" {
  description = "Compute environments by spec name."
  type = map(object({
    kind                = string # ec2 | ec2-spot | fargate | fargate-spot
    max_vcpus           = number
    min_vcpus           = number
    instance_types      = list(string) # empty for Fargate
    allocation_strategy = optional(string)
    bid_percentage      = optional(number)
  }))
}

variable "job_queues" {
  description = "Job queues by spec name; compute_environments are keys of var.compute_environments in fallback order."
  type = map(object({
    priority             = number
    compute_environments = list(string)
    fair_share = optional(object({      # absent: first in, first out
      weight_factors      = map(number) # share identifier -> AWS weight factor (lower gets more)
      compute_reservation = optional(number)
      share_decay_seconds = optional(number)
    }))
  }))
}

variable "jobs" {
  description = "Job types by spec name."
  type = map(object({
    image                = string           # full reference: repository@sha256:... or repository:tag
    image_repository_arn = optional(string) # ECR repository to grant pulls on; null for other registries
    queue                = string           # key of var.job_queues
    platform             = string           # EC2 | FARGATE
    vcpus                = number
    memory_mib           = number
    gpus                 = optional(number) # GPU resource requirement (EC2 only)
    command              = list(string)
    parameters           = map(string)
    environment          = map(string)
    secrets              = map(string) # name -> Secrets Manager or SSM parameter ARN
    timeout_seconds      = number
    retry_attempts       = number
    on_exit = list(object({     # evaluate_on_exit in order; batchplane appends the catch-all EXIT
      action           = string # retry | exit
      on_exit_code     = optional(string)
      on_reason        = optional(string)
      on_status_reason = optional(string)
    }))
    policy_statements = list(object({ # the job role's inline policy
      sid       = string
      effect    = string
      actions   = list(string)
      resources = list(string)
    }))
    schedule = optional(string) # EventBridge Scheduler expression
    s3_triggers = list(object({
      bucket    = string
      prefix    = optional(string)
      suffix    = optional(string)
      parameter = optional(string) # job parameter that receives s3://bucket/key
    }))
    share      = optional(string) # fair-share identifier of scheduled runs
    array_size = optional(number) # scheduled and triggered runs are array jobs of this size
  }))
}

variable "pipelines" {
  description = "Pipelines (Step Functions state machines) by spec name."
  type = map(object({
    definition = string       # Amazon States Language, rendered by batchplane from the step DAG
    jobs       = list(string) # keys of var.jobs the steps run
    queues     = list(string) # keys of var.job_queues of those jobs
    schedule   = optional(string)
    s3_triggers = list(object({
      bucket = string
      prefix = optional(string)
      suffix = optional(string)
    }))
  }))
  default = {}
}

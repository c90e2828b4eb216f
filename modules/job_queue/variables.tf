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

variable "fair_share" {
  description = "Fair-share scheduling policy of the queue, named like it: weight factor per share identifier (AWS gives a lower factor more compute), compute_reservation (percent of max vCPUs kept for share identifiers not yet active, 0 to 99) and share_decay_seconds (0 to 604800). Adding or removing it replaces the queue. null means first in, first out."
  type = object({
    weight_factors      = map(number)
    compute_reservation = optional(number)
    share_decay_seconds = optional(number)
  })
  default = null

  validation {
    condition     = var.fair_share == null ? true : length(var.fair_share.weight_factors) >= 1 && length(var.fair_share.weight_factors) <= 500
    error_message = "fair_share.weight_factors takes 1 to 500 share identifiers."
  }

  validation {
    condition = var.fair_share == null ? true : alltrue([for id, factor in var.fair_share.weight_factors :
      can(regex("^[A-Za-z0-9_]{1,255}$", id)) && factor >= 0.0001 && factor <= 999.9999
    ])
    error_message = "Each share identifier may hold letters, digits and '_' (at most 255), and its weight factor must be from 0.0001 to 999.9999."
  }

  validation {
    condition     = try(var.fair_share.compute_reservation, null) == null ? true : var.fair_share.compute_reservation >= 0 && var.fair_share.compute_reservation <= 99 && floor(var.fair_share.compute_reservation) == var.fair_share.compute_reservation
    error_message = "fair_share.compute_reservation must be a whole number from 0 to 99."
  }

  validation {
    condition     = try(var.fair_share.share_decay_seconds, null) == null ? true : var.fair_share.share_decay_seconds >= 0 && var.fair_share.share_decay_seconds <= 604800 && floor(var.fair_share.share_decay_seconds) == var.fair_share.share_decay_seconds
    error_message = "fair_share.share_decay_seconds must be a whole number from 0 to 604800."
  }
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

variable "tags" {
  description = "Tags of the job queue and its scheduling policy. null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

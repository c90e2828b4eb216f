variable "name" {
  description = "Base name: the compute environment is named \"<name>-<random suffix>\" and the instance role \"<name>-instance\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,55}$", var.name))
    error_message = "name may hold letters, digits, '_' and '-', at most 55 (the instance role name must fit 64)."
  }
}

variable "kind" {
  description = "Capacity kind: ec2, ec2-spot, fargate or fargate-spot."
  type        = string

  validation {
    condition     = contains(["ec2", "ec2-spot", "fargate", "fargate-spot"], var.kind)
    error_message = "kind must be one of ec2, ec2-spot, fargate, fargate-spot."
  }
}

variable "max_vcpus" {
  description = "Most vCPUs the compute environment may run at once."
  type        = number

  validation {
    condition     = var.max_vcpus >= 1 && floor(var.max_vcpus) == var.max_vcpus
    error_message = "max_vcpus must be a whole number of at least 1."
  }
}

variable "min_vcpus" {
  description = "vCPUs kept running when idle (EC2 kinds only). null means 0."
  type        = number
  default     = null

  validation {
    condition     = var.min_vcpus == null ? true : var.min_vcpus >= 0 && floor(var.min_vcpus) == var.min_vcpus
    error_message = "min_vcpus must be a whole number of at least 0."
  }
}

variable "instance_types" {
  description = "Instance types or families (EC2 kinds only; \"optimal\" lets Batch choose). null means [\"optimal\"] for EC2 kinds; must be null or empty for Fargate kinds."
  type        = list(string)
  default     = null
}

variable "allocation_strategy" {
  description = "EC2 allocation strategy. null means BEST_FIT_PROGRESSIVE for ec2 and SPOT_PRICE_CAPACITY_OPTIMIZED for ec2-spot; must be null for Fargate kinds."
  type        = string
  default     = null

  # BEST_FIT is left out: it blocks in-place infrastructure updates, which
  # update_policy and the service-linked role rely on.
  validation {
    condition     = var.allocation_strategy == null ? true : contains(["BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"], var.allocation_strategy)
    error_message = "allocation_strategy must be BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED or SPOT_PRICE_CAPACITY_OPTIMIZED."
  }
}

variable "bid_percentage" {
  description = "Highest Spot price as a percentage of the On-Demand price (ec2-spot only). null means up to the On-Demand price, which AWS recommends."
  type        = number
  default     = null

  validation {
    condition     = var.bid_percentage == null ? true : var.bid_percentage >= 1 && var.bid_percentage <= 100
    error_message = "bid_percentage must be between 1 and 100."
  }
}

variable "subnet_ids" {
  description = "Subnets the instances or Fargate tasks run in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids needs at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the instances or Fargate tasks."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && length(var.security_group_ids) <= 5
    error_message = "security_group_ids needs one to five security groups."
  }
}

variable "service_role_arn" {
  description = "ARN of the account's Batch service-linked role (AWSServiceRoleForBatch)."
  type        = string

  # Only the service-linked role lets Batch update compute environments in place.
  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/aws-service-role/batch\\.amazonaws\\.com/AWSServiceRoleForBatch$", var.service_role_arn))
    error_message = "service_role_arn must be the Batch service-linked role: arn:<partition>:iam::<account>:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch."
  }
}

variable "tags" {
  description = "Tags of the compute environment and the instance role. null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

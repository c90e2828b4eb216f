variable "name" {
  description = "Prefix of every name in the network (Name tags, security group, IAM role, log group)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,50}$", var.name))
    error_message = "name may hold letters, digits, '_' and '-', at most 50 (the flow-log role name must fit 64)."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC, /16 to /22. Private subnets get one eighth of it each; the last eighth holds the public subnets."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && try(tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 22, false)
    error_message = "cidr must be an IPv4 CIDR block from /16 to /22."
  }
}

variable "availability_zones" {
  description = "Number of availability zones to spread the subnets over (1 to 6)."
  type        = number

  validation {
    condition     = var.availability_zones >= 1 && var.availability_zones <= 6 && floor(var.availability_zones) == var.availability_zones
    error_message = "availability_zones must be a whole number from 1 to 6."
  }
}

variable "log_retention_days" {
  description = "Retention of the VPC flow-log group, in days (a value CloudWatch Logs accepts)."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the flow-log group; its policy must let CloudWatch Logs use it."
  type        = string
}

variable "tags" {
  description = "Tags of every resource. null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

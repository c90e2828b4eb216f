variable "name" {
  description = "Name of the key; its alias is alias/<name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_-]{1,250}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name may hold letters, digits, '/', '_' and '-' (at most 250) and must not start with aws/ (reserved for AWS managed keys)."
  }
}

variable "description" {
  description = "Description of the key. null means \"<name>\"."
  type        = string
  default     = null
}

variable "allow_cloudwatch_logs" {
  description = "Let CloudWatch Logs in the current region use the key for log groups of the current account. null means false."
  type        = bool
  default     = null
}

variable "deletion_window_in_days" {
  description = "Waiting period before a deleted key is destroyed (7 to 30). null means 30."
  type        = number
  default     = null

  validation {
    condition     = var.deletion_window_in_days == null ? true : var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags of the key. null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

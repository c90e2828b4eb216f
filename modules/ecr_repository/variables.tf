variable "name" {
  description = "Name of the repository (may contain '/' namespaces)."
  type        = string

  validation {
    condition     = length(var.name) <= 256 && can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name))
    error_message = "name must be a valid ECR repository name: lower-case letters, digits, '.', '_', '-' and '/' separators, at most 256."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images. null means the module creates one (with rotation)."
  type        = string
  default     = null
}

variable "create_kms_key" {
  description = "Whether the module creates the key. null means: when kms_key_arn is null. Set it to false when kms_key_arn comes from a resource of the same plan (count cannot depend on an unknown ARN)."
  type        = bool
  default     = null
}

variable "pull_account_ids" {
  description = "AWS accounts (their IAM principals, as the account permits) that may pull images. null means none beyond the owning account's IAM policies."
  type        = list(string)
  default     = null

  validation {
    condition     = alltrue([for id in coalesce(var.pull_account_ids, []) : can(regex("^[0-9]{12}$", id))])
    error_message = "pull_account_ids must be 12-digit account IDs."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images are deleted. null means 14."
  type        = number
  default     = null

  validation {
    condition     = var.untagged_expiry_days == null ? true : var.untagged_expiry_days >= 1 && floor(var.untagged_expiry_days) == var.untagged_expiry_days
    error_message = "untagged_expiry_days must be a whole number of at least 1."
  }
}

variable "tagged_images_to_keep" {
  description = "How many images tagged with one of tag_prefixes to keep (older ones are deleted). Keep it above the number of digests any environment may still run. null means 100."
  type        = number
  default     = null

  validation {
    condition     = var.tagged_images_to_keep == null ? true : var.tagged_images_to_keep >= 1 && floor(var.tagged_images_to_keep) == var.tagged_images_to_keep
    error_message = "tagged_images_to_keep must be a whole number of at least 1."
  }
}

variable "tag_prefixes" {
  description = "Tag prefixes whose images count towards tagged_images_to_keep. null means [\"git-\"]."
  type        = list(string)
  default     = null

  validation {
    condition     = var.tag_prefixes == null ? true : length(var.tag_prefixes) > 0 && alltrue([for p in var.tag_prefixes : p != ""])
    error_message = "tag_prefixes must hold at least one non-empty prefix."
  }
}

variable "force_delete" {
  description = "Let terraform destroy delete the repository even when it holds images. null means false."
  type        = bool
  default     = null
}

variable "tags" {
  description = "Tags of the repository (and of the key the module creates). null means none beyond the provider's default tags."
  type        = map(string)
  default     = null
}

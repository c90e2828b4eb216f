# Inputs of the shared root (ECR repositories for the job images). batchplane
# writes every value into terraform.tfvars.json from platform.yaml.

variable "platform" {
  description = "Platform name from the spec; the namespace of every repository."
  type        = string
}

variable "region" {
  description = "AWS region of the registry."
  type        = string
}

variable "account_id" {
  description = "The only AWS account this root may touch (allowed_account_ids): the registry's account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "tags" {
  description = "Default tags of every taggable resource (spec tags plus platform, managed-by)."
  type        = map(string)
}

variable "repositories" {
  description = "One repository per job image, keyed by image name; pull_account_ids are the accounts of the environments that run it."
  type = map(object({
    pull_account_ids = list(string)
  }))
}

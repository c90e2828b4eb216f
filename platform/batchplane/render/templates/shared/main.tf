# Module calls of the shared root: one ECR repository per job image, built once
# and pulled by every environment's account.

module "kms_key" {
  source = "../../modules/kms_key"

  name        = "${var.platform}-ecr"
  description = "ECR repositories of ${var.platform}"
}

module "repository" {
  source   = "../../modules/ecr_repository"
  for_each = var.repositories

  name             = "${var.platform}/${each.key}"
  create_kms_key   = false
  kms_key_arn      = module.kms_key.key_arn
  pull_account_ids = each.value.pull_account_ids
}

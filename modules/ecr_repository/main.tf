data "aws_partition" "current" {}

locals {
  create_kms_key = var.create_kms_key != null ? var.create_kms_key : var.kms_key_arn == null
}

module "kms_key" {
  source = "../kms_key"
  count  = local.create_kms_key ? 1 : 0

  # Aliases do not allow the '.' that repository names may hold.
  name        = "ecr/${replace(var.name, ".", "-")}"
  description = "ECR repository ${var.name}"
  tags        = var.tags
}

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = coalesce(var.force_delete, false)
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.create_kms_key ? module.kms_key[0].key_arn : var.kms_key_arn
  }

  lifecycle {
    precondition {
      condition     = local.create_kms_key == (var.kms_key_arn == null)
      error_message = "Give kms_key_arn or let the module create the key (create_kms_key), not both or neither."
    }
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = coalesce(var.untagged_expiry_days, 14)
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest tagged images"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = coalesce(var.tag_prefixes, ["git-"])
          countType     = "imageCountMoreThan"
          countNumber   = coalesce(var.tagged_images_to_keep, 100)
        }
        action = { type = "expire" }
      },
    ]
  })
}

data "aws_iam_policy_document" "pull" {
  count = length(coalesce(var.pull_account_ids, [])) > 0 ? 1 : 0

  statement {
    sid     = "CrossAccountPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]

    principals {
      type        = "AWS"
      identifiers = [for id in sort(distinct(var.pull_account_ids)) : "arn:${data.aws_partition.current.partition}:iam::${id}:root"]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = length(coalesce(var.pull_account_ids, [])) > 0 ? 1 : 0

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.pull[0].json
}

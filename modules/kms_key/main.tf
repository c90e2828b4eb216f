data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  logs_arn    = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"
}

# A key policy must name the account itself, or the key becomes unmanageable;
# IAM policies then decide who in the account may use it. In a key policy,
# Resource "*" means this key only, which the generic IAM checks cannot tell.
data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:key policy; "*" is this key
  #checkov:skip=CKV_AWS_111:key policy; "*" is this key
  #checkov:skip=CKV_AWS_356:key policy; "*" is this key
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_arn]
    }
  }

  dynamic "statement" {
    for_each = coalesce(var.allow_cloudwatch_logs, false) ? [1] : []

    content {
      sid       = "CloudWatchLogs"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
      }

      # Only log groups of this account and region, as the Logs documentation recommends.
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = [local.logs_arn]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = coalesce(var.description, var.name)
  deletion_window_in_days = coalesce(var.deletion_window_in_days, 30)
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

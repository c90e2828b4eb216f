data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name       = "${var.prefix}-${var.name}"
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  fargate    = var.platform == "FARGATE"

  # The job definition's ARN without revision, known at plan time: the provider's
  # arn_prefix is unknown while a new revision is planned, which would recompute every
  # policy, schedule and trigger that names it. A postcondition checks they agree.
  job_definition_arn_prefix = "arn:${local.partition}:batch:${data.aws_region.current.name}:${local.account_id}:job-definition/${local.name}"

  command           = coalesce(var.command, [])
  parameters        = coalesce(var.parameters, {})
  environment       = coalesce(var.environment, {})
  secrets           = coalesce(var.secrets, {})
  policy_statements = coalesce(var.policy_statements, [])
  s3_triggers       = { for i, t in coalesce(var.s3_triggers, []) : tostring(i) => t }
  scheduled         = var.schedule_expression != null
  triggered         = length(local.s3_triggers) > 0

  # Fargate sizes: vCPUs => [smallest MiB, largest MiB, step].
  fargate_memory = {
    "0.25" = [512, 2048, 512]
    "0.5"  = [1024, 4096, 1024]
    "1"    = [2048, 8192, 1024]
    "2"    = [4096, 16384, 1024]
    "4"    = [8192, 30720, 1024]
    "8"    = [16384, 61440, 4096]
    "16"   = [32768, 122880, 8192]
  }
  fargate_range = lookup(local.fargate_memory, tostring(var.vcpus), null)
}

# --- Logs ---------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is the environment's log_retention_days (tier default 30 or 365 days); batchplane's BP-OPS-003 holds it to policy.settings.min_log_retention_days instead of a fixed year
  name              = "/aws/batch/${var.prefix}/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# --- IAM ----------------------------------------------------------------------

# One trust policy per service, each naming its principal literally so that
# policy scanners can judge it (a for_each over service names cannot be).
data "aws_iam_policy_document" "assume_tasks" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard: only this account's tasks, schedules and rules.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "assume_scheduler" {
  count = local.scheduled ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "assume_events" {
  count = local.triggered ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# What the job's code may do; nothing unless the spec grants it.
resource "aws_iam_role" "job" {
  name               = "${local.name}-job"
  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = length(local.name) <= 57
      error_message = "\"<prefix>-<name>\" must be at most 57 characters so that the role names fit 64."
    }
  }
}

data "aws_iam_policy_document" "job" {
  count = length(local.policy_statements) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = local.policy_statements

    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "job" {
  count = length(local.policy_statements) > 0 ? 1 : 0

  name   = "job"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job[0].json
}

# What the container agent needs to start the job: pull the image, write logs,
# read the referenced secrets. Kept apart from the job role so the job's code
# never holds these.
locals {
  # valueFrom may carry a JSON key after the secret's ARN (its first 7 fields).
  secret_arns = distinct([for arn in values(local.secrets) : join(":", slice(split(":", arn), 0, 7)) if strcontains(arn, ":secretsmanager:")])
  # A partial ARN lacks the 6-character suffix AWS appends to secret names.
  secret_resources    = flatten([for arn in local.secret_arns : [arn, "${arn}-??????"]])
  parameter_resources = [for arn in values(local.secrets) : arn if strcontains(arn, ":ssm:")]
}

# Literal actions in every statement (sorted by sid, as before) so that policy
# scanners can judge the document; optional statements are dynamic blocks
# over their resources only.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action has no resource type
  }

  dynamic "statement" {
    for_each = var.image_repository_arn == null ? [] : [var.image_repository_arn]

    content {
      sid       = "EcrPull"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.parameter_resources) > 0 ? [local.parameter_resources] : []

    content {
      sid       = "Parameters"
      actions   = ["ssm:GetParameters"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.secret_resources) > 0 ? [local.secret_resources] : []

    content {
      sid       = "Secrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-exec"
  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Job definition -----------------------------------------------------------

locals {
  # Sorted by type; GPU only when asked for, so that jobs without GPUs keep
  # their definition.
  resource_requirements = concat(
    var.gpus == null ? [] : [{ type = "GPU", value = tostring(var.gpus) }],
    [{ type = "MEMORY", value = tostring(var.memory_mib) }, { type = "VCPU", value = tostring(var.vcpus) }],
  )

  # Canonical form (no nulls, no empty collections, lists sorted by name or
  # type) so that what AWS returns compares equal and a plan after apply is
  # empty.
  container = {
    image                = var.image
    command              = length(local.command) > 0 ? local.command : null
    environment          = length(local.environment) > 0 ? [for k, v in local.environment : { name = k, value = v }] : null
    secrets              = length(local.secrets) > 0 ? [for k, v in local.secrets : { name = k, valueFrom = v }] : null
    jobRoleArn           = aws_iam_role.job.arn
    executionRoleArn     = aws_iam_role.execution.arn
    resourceRequirements = local.resource_requirements
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = data.aws_region.current.name
        "awslogs-stream-prefix" = var.name
      }
    }
    fargatePlatformConfiguration = local.fargate ? { platformVersion = "LATEST" } : null
    networkConfiguration         = local.fargate ? { assignPublicIp = coalesce(var.assign_public_ip, false) ? "ENABLED" : "DISABLED" } : null
  }
}

resource "aws_batch_job_definition" "this" {
  name                  = local.name
  type                  = "container"
  platform_capabilities = [var.platform]
  propagate_tags        = true
  parameters            = length(local.parameters) > 0 ? local.parameters : null
  container_properties  = jsonencode({ for k, v in local.container : k => v if v != null })
  tags                  = var.tags

  # Old revisions stay ACTIVE so that jobs submitted against them keep working
  # and a rollback is a plain re-apply.
  deregister_on_new_revision = false

  timeout {
    attempt_duration_seconds = var.timeout_seconds
  }

  retry_strategy {
    attempts = coalesce(var.retry_attempts, 1)

    # Without a final match-all EXIT, an unmatched failure would be retried.
    # Lower-case actions: the API returns them so, upper case diffs forever.
    dynamic "evaluate_on_exit" {
      for_each = concat(coalesce(var.on_exit, []), [{ action = "exit", on_exit_code = null, on_reason = "*", on_status_reason = null }])

      content {
        action           = lower(evaluate_on_exit.value.action)
        on_exit_code     = evaluate_on_exit.value.on_exit_code
        on_reason        = evaluate_on_exit.value.on_reason
        on_status_reason = evaluate_on_exit.value.on_status_reason
      }
    }
  }

  lifecycle {
    postcondition {
      condition     = self.arn_prefix == local.job_definition_arn_prefix
      error_message = "The job definition's ARN prefix is not the one the module computed (arn:<partition>:batch:<region>:<account>:job-definition/<name>)."
    }

    precondition {
      condition     = local.fargate || var.vcpus >= 1
      error_message = "EC2 jobs need at least 1 vCPU."
    }

    precondition {
      condition     = !local.fargate || var.gpus == null
      error_message = "Fargate cannot run GPU jobs: gpus needs platform EC2."
    }

    precondition {
      condition = !local.fargate || (local.fargate_range != null && try(
        var.memory_mib >= local.fargate_range[0] && var.memory_mib <= local.fargate_range[1] && (var.memory_mib - local.fargate_range[0]) % local.fargate_range[2] == 0,
      false))
      error_message = "vcpus and memory_mib are not a Fargate size (e.g. 0.25 vCPU with 512-2048 MiB, 1 vCPU with 2048-8192 MiB in steps of 1024)."
    }
  }
}

# --- Submitters: schedule and S3 triggers --------------------------------------

data "aws_iam_policy_document" "submit" {
  count = local.scheduled || local.triggered ? 1 : 0

  statement {
    actions = ["batch:SubmitJob"]
    # The unversioned ARN resolves to the latest revision; ":*" covers revisions.
    resources = [
      var.job_queue_arn,
      local.job_definition_arn_prefix,
      "${local.job_definition_arn_prefix}:*",
    ]
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.scheduled ? 1 : 0

  name               = "${local.name}-sched"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.scheduled ? 1 : 0

  name   = "submit-job"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.submit[0].json
}

# Scheduler decrypts the target input with the schedule's role at every
# invocation; only this schedule's input (encryption context), only this key.
data "aws_iam_policy_document" "schedule_key" {
  count = local.scheduled ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.schedule_kms_key_arn != null
      error_message = "A scheduled job needs schedule_kms_key_arn: its role is granted kms:Decrypt on that key."
    }
  }

  statement {
    sid       = "DecryptScheduleInput"
    actions   = ["kms:Decrypt"]
    resources = [var.schedule_kms_key_arn]

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:scheduler:schedule:arn"
      values   = ["arn:${local.partition}:scheduler:${data.aws_region.current.name}:${local.account_id}:schedule/default/${local.name}"]
    }
  }
}

resource "aws_iam_role_policy" "schedule_key" {
  count = local.scheduled ? 1 : 0

  name   = "schedule-key"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.schedule_key[0].json
}

resource "aws_scheduler_schedule" "this" {
  count = local.scheduled ? 1 : 0

  name                = local.name
  description         = "Submits ${local.name}"
  schedule_expression = var.schedule_expression
  kms_key_arn         = var.schedule_kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  # The universal target calls SubmitJob itself; Scheduler has no Batch template.
  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:batch:submitJob"
    role_arn = aws_iam_role.scheduler[0].arn
    input = jsonencode({ for k, v in {
      JobName         = local.name
      JobQueue        = var.job_queue_arn
      JobDefinition   = local.job_definition_arn_prefix
      ShareIdentifier = var.share_identifier
      ArrayProperties = var.array_size == null ? null : { Size = var.array_size }
    } : k => v if v != null })
  }

  # A role without its policies yet would fail the first invocations.
  depends_on = [aws_iam_role_policy.scheduler, aws_iam_role_policy.schedule_key]
}

resource "aws_iam_role" "events" {
  count = local.triggered ? 1 : 0

  name               = "${local.name}-events"
  assume_role_policy = data.aws_iam_policy_document.assume_events[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "events" {
  count = local.triggered ? 1 : 0

  name   = "submit-job"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.submit[0].json
}

locals {
  # prefix -> {"prefix": p}, suffix -> {"suffix": s}, both -> {"wildcard": "p*s"}
  # (where '*' and '\' are special, so they are escaped in p and s).
  key_filter = { for k, t in local.s3_triggers : k => (
    t.prefix == null && t.suffix == null ? null : {
      (t.prefix == null ? "suffix" : t.suffix == null ? "prefix" : "wildcard") = (
        t.prefix == null || t.suffix == null ? coalesce(t.prefix, t.suffix) :
        join("*", [for s in [t.prefix, t.suffix] : replace(replace(s, "\\", "\\\\"), "*", "\\*")])
      )
    }
  ) }
}

resource "aws_cloudwatch_event_rule" "s3" {
  for_each = local.s3_triggers

  name        = "${local.name}-s3-${each.key}"
  description = "Submits ${local.name} when an object is created in ${each.value.bucket}"
  tags        = var.tags
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = { for k, v in {
      bucket = { name = [each.value.bucket] }
      object = local.key_filter[each.key] == null ? null : { key = [local.key_filter[each.key]] }
    } : k => v if v != null }
  })
}

resource "aws_cloudwatch_event_target" "s3" {
  for_each = local.s3_triggers

  rule      = aws_cloudwatch_event_rule.s3[each.key].name
  target_id = "batch"
  arn       = var.job_queue_arn
  role_arn  = aws_iam_role.events[0].arn

  batch_target {
    job_definition = local.job_definition_arn_prefix
    job_name       = local.name
    array_size     = var.array_size
  }

  # Built by hand: jsonencode would escape the <bucket> and <key> placeholders.
  dynamic "input_transformer" {
    for_each = each.value.parameter == null ? [] : [each.value.parameter]

    content {
      input_paths = {
        bucket = "$.detail.bucket.name"
        key    = "$.detail.object.key"
      }
      input_template = "{\"Parameters\":{${jsonencode(input_transformer.value)}:\"s3://<bucket>/<key>\"}}"
    }
  }

  lifecycle {
    precondition {
      condition     = var.share_identifier == null
      error_message = "An EventBridge Batch target cannot pass a share identifier, which a fair-share queue requires: S3 triggers need a job without share_identifier."
    }
  }

  depends_on = [aws_iam_role_policy.events]
}

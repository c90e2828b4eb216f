data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name        = "${var.prefix}-${var.name}"
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.name
  account_id  = data.aws_caller_identity.current.account_id
  scheduled   = var.schedule_expression != null
  s3_triggers = { for i, t in coalesce(var.s3_triggers, []) : tostring(i) => t }
  triggered   = length(local.s3_triggers) > 0

  # AWS Step Functions' managed rule through which .sync learns that a Batch job ended.
  batch_events_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForBatchJobsRule"
}

# --- Logs ---------------------------------------------------------------------

# /aws/vendedlogs/ keeps the logs resource policy AWS writes for Step Functions small.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is the environment's log_retention_days (tier default 30 or 365 days); batchplane's BP-OPS-003 holds it to policy.settings.min_log_retention_days instead of a fixed year
  name              = "/aws/vendedlogs/states/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# --- IAM ----------------------------------------------------------------------

data "aws_iam_policy_document" "assume_states" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    # Confused-deputy guard: only this account's state machines.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${local.name}-sfn"
  assume_role_policy = data.aws_iam_policy_document.assume_states.json
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = length(local.name) <= 57
      error_message = "\"<prefix>-<name>\" must be at most 57 characters so that the role names fit 64."
    }
  }
}

# What submitJob.sync needs (AWS Step Functions developer guide, "IAM policies
# for AWS Batch"), narrowed to the steps' queues and job definitions. Not
# batch:TerminateJob: it can only be granted on every job of the account, so a
# stopped execution leaves its running jobs to end by themselves (their timeout).
data "aws_iam_policy_document" "state_machine" {
  # One statement over a list (a dynamic block of one item) so that policy
  # scanners judge its resources as the references they are. The unversioned
  # definition ARN resolves to the latest revision; ":*" covers revisions.
  dynamic "statement" {
    for_each = [concat(var.job_queue_arns, var.job_definition_arns, [for arn in var.job_definition_arns : "${arn}:*"])]

    content {
      sid       = "SubmitSteps"
      actions   = ["batch:SubmitJob"]
      resources = statement.value
    }
  }

  statement {
    sid       = "FollowJobs"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"] # the action has no resource type
  }

  statement {
    sid       = "BatchJobEvents"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = [local.batch_events_rule_arn]
  }

  # Log delivery to CloudWatch Logs: these actions have no resource type.
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  # X-Ray tracing of executions: these actions have no resource type.
  statement {
    sid       = "Tracing"
    actions   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "run-steps"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

# --- State machine ------------------------------------------------------------

resource "aws_sfn_state_machine" "this" {
  name       = local.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine.arn
  definition = var.definition
  tags       = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  lifecycle {
    precondition {
      condition     = alltrue([for arn in concat(var.job_queue_arns, var.job_definition_arns) : strcontains(var.definition, jsonencode(arn))])
      error_message = "Every job queue and job definition in job_queue_arns and job_definition_arns must be one the definition submits to."
    }
  }

  # A role without its policy yet would fail the first executions.
  depends_on = [aws_iam_role_policy.state_machine]
}

# --- Starters: schedule and S3 triggers -----------------------------------------

data "aws_iam_policy_document" "start" {
  count = local.scheduled || local.triggered ? 1 : 0

  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
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

resource "aws_iam_role" "scheduler" {
  count = local.scheduled ? 1 : 0

  name               = "${local.name}-sched"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.scheduled ? 1 : 0

  name   = "start-execution"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.start[0].json
}

# Scheduler decrypts the target input with the schedule's role at every
# invocation; only this schedule's input (encryption context), only this key.
data "aws_iam_policy_document" "schedule_key" {
  count = local.scheduled ? 1 : 0

  lifecycle {
    precondition {
      condition     = var.schedule_kms_key_arn != null
      error_message = "A scheduled pipeline needs schedule_kms_key_arn: its role is granted kms:Decrypt on that key."
    }
  }

  statement {
    sid       = "DecryptScheduleInput"
    actions   = ["kms:Decrypt"]
    resources = [var.schedule_kms_key_arn]

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:scheduler:schedule:arn"
      values   = ["arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/default/${local.name}"]
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
  description         = "Starts pipeline ${local.name}"
  schedule_expression = var.schedule_expression
  kms_key_arn         = var.schedule_kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  # Scheduler's templated Step Functions target: StartExecution with this input.
  target {
    arn      = aws_sfn_state_machine.this.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode({ source = "schedule" })
  }

  depends_on = [aws_iam_role_policy.scheduler, aws_iam_role_policy.schedule_key]
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

resource "aws_iam_role" "events" {
  count = local.triggered ? 1 : 0

  name               = "${local.name}-events"
  assume_role_policy = data.aws_iam_policy_document.assume_events[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "events" {
  count = local.triggered ? 1 : 0

  name   = "start-execution"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.start[0].json
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
  description = "Starts pipeline ${local.name} when an object is created in ${each.value.bucket}"
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
  target_id = "pipeline"
  arn       = aws_sfn_state_machine.this.arn
  role_arn  = aws_iam_role.events[0].arn

  # The execution's input: where the object landed.
  input_transformer {
    input_paths = {
      bucket = "$.detail.bucket.name"
      key    = "$.detail.object.key"
    }
    input_template = "{\"source\":\"s3\",\"bucket\":\"<bucket>\",\"key\":\"<key>\"}"
  }

  depends_on = [aws_iam_role_policy.events]
}

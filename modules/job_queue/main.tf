locals {
  fair_share = var.fair_share != null
}

# Fair share: AWS gives a share with a lower weight factor more compute.
resource "aws_batch_scheduling_policy" "this" {
  count = local.fair_share ? 1 : 0

  name = var.name
  tags = var.tags

  fair_share_policy {
    compute_reservation = var.fair_share.compute_reservation
    share_decay_seconds = var.fair_share.share_decay_seconds

    dynamic "share_distribution" {
      for_each = var.fair_share.weight_factors

      content {
        share_identifier = share_distribution.key
        weight_factor    = share_distribution.value
      }
    }
  }
}

# AWS cannot give an existing first-in-first-out queue a scheduling policy,
# nor take one away (UpdateJobQueue refuses both), while the provider plans
# either as an in-place update that then fails. Whether the queue is
# fair-share is therefore tracked here, and a change of it replaces the queue.
resource "terraform_data" "fair_share" {
  input = local.fair_share
}

resource "aws_batch_job_queue" "this" {
  name                  = var.name
  state                 = "ENABLED"
  priority              = var.priority
  scheduling_policy_arn = try(aws_batch_scheduling_policy.this[0].arn, null)
  tags                  = var.tags

  dynamic "compute_environment_order" {
    for_each = var.compute_environment_arns

    content {
      order               = compute_environment_order.key
      compute_environment = compute_environment_order.value
    }
  }

  # When every compute environment lacks capacity the job at the head blocks
  # the queue; cancelling it lets the jobs behind it run. RUNNABLE is the only
  # state the API accepts here.
  job_state_time_limit_action {
    action           = "CANCEL"
    max_time_seconds = coalesce(var.runnable_timeout_seconds, 3600)
    reason           = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    state            = "RUNNABLE"
  }

  lifecycle {
    replace_triggered_by = [terraform_data.fair_share]
  }
}

resource "aws_batch_job_queue" "this" {
  name                  = var.name
  state                 = "ENABLED"
  priority              = var.priority
  scheduling_policy_arn = var.scheduling_policy_arn
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
  dynamic "job_state_time_limit_action" {
    for_each = coalesce(var.emulator_compatible, false) ? [] : [1]

    content {
      action           = "CANCEL"
      max_time_seconds = coalesce(var.runnable_timeout_seconds, 3600)
      reason           = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
      state            = "RUNNABLE"
    }
  }
}

data "aws_partition" "current" {}

locals {
  ec2            = contains(["ec2", "ec2-spot"], var.kind)
  spot           = contains(["ec2-spot", "fargate-spot"], var.kind)
  resource_type  = { "ec2" = "EC2", "ec2-spot" = "SPOT", "fargate" = "FARGATE", "fargate-spot" = "FARGATE_SPOT" }[var.kind]
  instance_types = coalesce(var.instance_types, ["optimal"])
  allocation     = coalesce(var.allocation_strategy, var.kind == "ec2-spot" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE")
  min_vcpus      = coalesce(var.min_vcpus, 0)
}

data "aws_iam_policy_document" "instance_assume" {
  count = local.ec2 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  count = local.ec2 ? 1 : 0

  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.instance_assume[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  count = local.ec2 ? 1 : 0

  role       = aws_iam_role.instance[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "instance" {
  count = local.ec2 ? 1 : 0

  name = "${var.name}-instance"
  role = aws_iam_role.instance[0].name
  tags = var.tags
}

resource "aws_batch_compute_environment" "this" {
  # A prefix, so that changes which replace the environment can create the new
  # one before the old one (still attached to queues) is destroyed.
  compute_environment_name_prefix = "${var.name}-"
  type                            = "MANAGED"
  state                           = "ENABLED"
  service_role                    = var.service_role_arn
  tags                            = var.tags

  compute_resources {
    type                = local.resource_type
    max_vcpus           = var.max_vcpus
    min_vcpus           = local.ec2 ? local.min_vcpus : null
    instance_type       = local.ec2 ? local.instance_types : null
    allocation_strategy = local.ec2 ? local.allocation : null
    bid_percentage      = var.kind == "ec2-spot" ? var.bid_percentage : null
    instance_role       = local.ec2 ? aws_iam_instance_profile.instance[0].arn : null
    subnets             = var.subnet_ids
    security_group_ids  = var.security_group_ids

    dynamic "ec2_configuration" {
      for_each = local.ec2 ? [1] : []

      content {
        image_type = "ECS_AL2023"
      }
    }
  }

  # Lets Batch replace instances in place on updates without killing running jobs.
  update_policy {
    terminate_jobs_on_update      = false
    job_execution_timeout_minutes = 30
  }

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = local.min_vcpus <= var.max_vcpus
      error_message = "min_vcpus must not exceed max_vcpus."
    }

    precondition {
      condition     = local.ec2 || (coalesce(var.min_vcpus, 0) == 0 && length(coalesce(var.instance_types, [])) == 0 && var.allocation_strategy == null && var.bid_percentage == null)
      error_message = "Fargate kinds take no min_vcpus, instance_types, allocation_strategy or bid_percentage."
    }

    precondition {
      condition     = !local.ec2 || length(local.instance_types) >= 1
      error_message = "EC2 kinds need at least one instance type (or null for \"optimal\")."
    }

    precondition {
      condition     = var.kind == "ec2-spot" || (var.bid_percentage == null && !startswith(local.allocation, "SPOT_"))
      error_message = "bid_percentage and the SPOT_* allocation strategies are for ec2-spot only."
    }
  }
}

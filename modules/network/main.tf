data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# Regular zones only: opted-in Local Zones sort before them ("eu-west-1-...").
# No state filter, so that an impaired zone does not shift the subnets to
# other zones; a new zone takes the next letter and sorts after the slice.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first N sorted names are used; a new zone sorts after them
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  tags  = coalesce(var.tags, {})
  azs   = slice(data.aws_availability_zones.available.names, 0, min(var.availability_zones, length(data.aws_availability_zones.available.names)))
  index = { for i, az in local.azs : az => i }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = var.name })

  lifecycle {
    precondition {
      condition     = length(data.aws_availability_zones.available.names) >= var.availability_zones
      error_message = "The region has fewer available availability zones than availability_zones asks for."
    }
  }
}

# No rules: nothing should use the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-default" })
}

resource "aws_subnet" "private" {
  for_each = local.index

  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(var.cidr, 3, each.value)
  tags              = merge(local.tags, { Name = "${var.name}-private-${each.key}" })
}

# Public subnets only hold the NAT gateway, so they are small.
resource "aws_subnet" "public" {
  for_each = local.index

  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(cidrsubnet(var.cidr, 3, 7), 3, each.value)
  tags              = merge(local.tags, { Name = "${var.name}-public-${each.key}" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  for_each = aws_subnet.public

  subnet_id      = each.value.id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name}-nat" })

  depends_on = [aws_internet_gateway.this]
}

# One NAT gateway keeps the cost flat; an outage of its zone stops new jobs
# from reaching AWS APIs until the zone recovers.
resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[local.azs[0]].id
  tags          = merge(local.tags, { Name = var.name })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name}-private" })
}

resource "aws_route" "private_nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private.id
}

# Batch instances and Fargate tasks only talk to AWS APIs, ECR and S3, all over
# HTTPS. DNS to the VPC resolver, instance metadata and time sync are not
# filtered by security groups, so no other rule is needed.
resource "aws_security_group" "batch" {
  #checkov:skip=CKV2_AWS_5:attached to the Batch compute environments by modules/compute_environment (security_group_id output), a module call Checkov's graph does not follow
  name        = "${var.name}-batch"
  description = "Batch compute: HTTPS egress only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-batch" })
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.batch.id
  description       = "AWS APIs and ECR over HTTPS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:retention is the environment's log_retention_days (tier default 30 or 365 days); batchplane's BP-OPS-003 holds it to policy.settings.min_log_retention_days instead of a fixed year
  name              = "/aws/vpc-flow-logs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }

  # Part of AWS's documented flow-log role policy; this action cannot be scoped
  # to one group, only to all groups of the account and region.
  statement {
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id               = aws_vpc.this.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
  tags                 = merge(local.tags, { Name = var.name })
}

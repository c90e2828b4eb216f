# Module calls of an environment root. Every value comes from
# terraform.tfvars.json; nothing here is specific to one platform.

data "aws_partition" "current" {}

locals {
  prefix = "${var.platform}-${var.environment}"

  # The service-linked role (not a custom AWSBatchServiceRole) lets Batch
  # update compute environments in place. AWS creates it on first use of Batch.
  batch_service_role_arn = "arn:${data.aws_partition.current.partition}:iam::${var.account_id}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"

  subnet_ids         = var.network.create ? module.network[0].private_subnet_ids : var.network.subnet_ids
  security_group_ids = var.network.create ? [module.network[0].security_group_id] : var.network.security_group_ids
}

# The environment's key: its log groups, and the input of its job schedules
# (queue and job definition ARNs; encrypted so that no schedule rests on an
# AWS owned key).
module "logs_key" {
  source = "../../modules/kms_key"

  name                  = "${local.prefix}-logs"
  description           = "CloudWatch log groups and job schedules of ${local.prefix}"
  allow_cloudwatch_logs = true
}

module "network" {
  source = "../../modules/network"
  count  = var.network.create ? 1 : 0

  name               = local.prefix
  cidr               = var.network.cidr
  availability_zones = var.network.availability_zones
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = module.logs_key.key_arn
}

module "compute" {
  source   = "../../modules/compute_environment"
  for_each = var.compute_environments

  name                = "${local.prefix}-${each.key}"
  kind                = each.value.kind
  max_vcpus           = each.value.max_vcpus
  min_vcpus           = each.value.min_vcpus
  instance_types      = each.value.instance_types
  allocation_strategy = each.value.allocation_strategy
  bid_percentage      = each.value.bid_percentage
  subnet_ids          = local.subnet_ids
  security_group_ids  = local.security_group_ids
  service_role_arn    = local.batch_service_role_arn
}

module "queue" {
  source   = "../../modules/job_queue"
  for_each = var.job_queues

  name                     = "${local.prefix}-${each.key}"
  priority                 = each.value.priority
  compute_environment_arns = [for ce in each.value.compute_environments : module.compute[ce].arn]
  fair_share               = each.value.fair_share
}

module "job" {
  source   = "../../modules/job"
  for_each = var.jobs

  prefix               = local.prefix
  name                 = each.key
  image                = each.value.image
  image_repository_arn = each.value.image_repository_arn
  job_queue_arn        = module.queue[each.value.queue].arn
  platform             = each.value.platform
  vcpus                = each.value.vcpus
  memory_mib           = each.value.memory_mib
  gpus                 = each.value.gpus
  command              = each.value.command
  parameters           = each.value.parameters
  environment          = each.value.environment
  secrets              = each.value.secrets
  timeout_seconds      = each.value.timeout_seconds
  retry_attempts       = each.value.retry_attempts
  on_exit              = each.value.on_exit
  policy_statements    = each.value.policy_statements
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = module.logs_key.key_arn
  assign_public_ip     = var.network.assign_public_ip
  schedule_expression  = each.value.schedule
  schedule_kms_key_arn = module.logs_key.key_arn
  s3_triggers          = each.value.s3_triggers
  share_identifier     = each.value.share
  array_size           = each.value.array_size
}

module "pipeline" {
  source   = "../../modules/pipeline"
  for_each = var.pipelines

  prefix               = local.prefix
  name                 = each.key
  definition           = each.value.definition
  job_queue_arns       = [for q in each.value.queues : module.queue[q].arn]
  job_definition_arns  = [for j in each.value.jobs : module.job[j].job_definition_arn_prefix]
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = module.logs_key.key_arn
  schedule_expression  = each.value.schedule
  schedule_kms_key_arn = module.logs_key.key_arn
  s3_triggers          = each.value.s3_triggers
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Created by AWS the first time Batch is used in the account.
  service_role_arn   = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  security_group_ids = ["sg-0123456789abcdef0"]
}

module "spot" {
  source = "../.."

  name               = "example-dev-spot"
  kind               = "ec2-spot"
  max_vcpus          = 64
  instance_types     = ["c6i.large", "c6a.large", "m6i.large"]
  subnet_ids         = local.subnet_ids
  security_group_ids = local.security_group_ids
  service_role_arn   = local.service_role_arn
}

module "fargate" {
  source = "../.."

  name               = "example-dev-fargate"
  kind               = "fargate"
  max_vcpus          = 16
  subnet_ids         = local.subnet_ids
  security_group_ids = local.security_group_ids
  service_role_arn   = local.service_role_arn
}

output "compute_environment_arns" {
  value = [module.spot.arn, module.fargate.arn]
}

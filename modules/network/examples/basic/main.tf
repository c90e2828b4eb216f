module "logs_key" {
  source = "../../../kms_key"

  name                  = "example-network-logs"
  allow_cloudwatch_logs = true
}

module "network" {
  source = "../.."

  name               = "example-dev"
  cidr               = "10.10.0.0/16"
  availability_zones = 2
  log_retention_days = 14
  log_kms_key_arn    = module.logs_key.key_arn
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}

output "security_group_id" {
  value = module.network.security_group_id
}

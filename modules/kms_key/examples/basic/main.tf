module "logs_key" {
  source = "../.."

  name                  = "example-logs"
  description           = "Log groups of the example"
  allow_cloudwatch_logs = true
}

resource "aws_cloudwatch_log_group" "example" {
  name              = "/example/app"
  retention_in_days = 14
  kms_key_id        = module.logs_key.key_arn
}

output "key_arn" {
  value = module.logs_key.key_arn
}

module "logs_key" {
  source = "../../../kms_key"

  name                  = "example-job-logs"
  allow_cloudwatch_logs = true
}

module "csv_ingest" {
  source = "../.."

  prefix               = "example-dev"
  name                 = "csv-ingest"
  image                = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/example/csv-ingest:git-1a2b3c4"
  image_repository_arn = "arn:aws:ecr:eu-west-1:111111111111:repository/example/csv-ingest"
  job_queue_arn        = "arn:aws:batch:eu-west-1:111111111111:job-queue/example-dev-default"
  platform             = "EC2"
  vcpus                = 1
  memory_mib           = 2048
  command              = ["python", "-m", "csv_ingest", "Ref::input"]
  parameters           = { input = "s3://example-input/incoming/sample.csv" }
  environment          = { TABLE_NAME = "products" }
  secrets              = { DB_PASSWORD = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db" }
  timeout_seconds      = 3600
  retry_attempts       = 3
  on_exit = [
    { on_status_reason = "Host EC2*", action = "retry" },
  ]
  policy_statements = [
    { sid = "ReadInput", effect = "Allow", actions = ["s3:GetObject"], resources = ["arn:aws:s3:::example-input/incoming/*"] },
  ]
  log_retention_days   = 30
  log_kms_key_arn      = module.logs_key.key_arn
  schedule_expression  = "cron(0 2 * * ? *)"
  schedule_kms_key_arn = module.logs_key.key_arn
  s3_triggers = [
    { bucket = "example-input", prefix = "incoming/", suffix = ".csv", parameter = "input" },
  ]
}

output "job_definition_arn" {
  value = module.csv_ingest.job_definition_arn
}

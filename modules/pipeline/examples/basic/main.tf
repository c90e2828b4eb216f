module "logs_key" {
  source = "../../../kms_key"

  name                  = "example-pipeline-logs"
  allow_cloudwatch_logs = true
}

locals {
  batch = "arn:aws:batch:eu-west-1:111111111111"
}

# Two steps in sequence: ingest, then a report as an array job of 4 children.
module "nightly" {
  source = "../.."

  prefix = "example-dev"
  name   = "nightly"
  definition = jsonencode({
    StartAt = "ingest"
    States = {
      ingest = {
        Type     = "Task"
        Resource = "arn:aws:states:::batch:submitJob.sync"
        Parameters = {
          JobName       = "example-dev-nightly-ingest"
          JobDefinition = "${local.batch}:job-definition/example-dev-csv-ingest"
          JobQueue      = "${local.batch}:job-queue/example-dev-default"
        }
        Next = "report"
      }
      report = {
        Type     = "Task"
        Resource = "arn:aws:states:::batch:submitJob.sync"
        Parameters = {
          JobName         = "example-dev-nightly-report"
          JobDefinition   = "${local.batch}:job-definition/example-dev-report"
          JobQueue        = "${local.batch}:job-queue/example-dev-default"
          ArrayProperties = { Size = 4 }
        }
        End = true
      }
    }
  })
  job_queue_arns       = ["${local.batch}:job-queue/example-dev-default"]
  job_definition_arns  = ["${local.batch}:job-definition/example-dev-csv-ingest", "${local.batch}:job-definition/example-dev-report"]
  log_retention_days   = 30
  log_kms_key_arn      = module.logs_key.key_arn
  schedule_expression  = "cron(0 1 * * ? *)"
  schedule_kms_key_arn = module.logs_key.key_arn
  s3_triggers = [
    { bucket = "example-input", prefix = "incoming/", suffix = ".csv" },
  ]
}

output "state_machine_arn" {
  value = module.nightly.state_machine_arn
}

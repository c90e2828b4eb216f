# A fair-share queue over a GPU compute environment, and a GPU array job that
# runs on it under the "analytics" share.
module "queue" {
  source = "../.."

  name     = "example-dev-shared"
  priority = 50
  compute_environment_arns = [
    "arn:aws:batch:eu-west-1:111111111111:compute-environment/example-dev-gpu-20240101000000000000000003",
  ]

  # Spec weights analytics: 3, adhoc: 1 -> AWS weight factors (lower gets more).
  fair_share = {
    weight_factors      = { analytics = 1, adhoc = 3 }
    compute_reservation = 10
    share_decay_seconds = 3600
  }
}

module "logs_key" {
  source = "../../../kms_key"

  name                  = "example-job-logs"
  allow_cloudwatch_logs = true
}

module "render_frames" {
  source = "../../../job"

  prefix               = "example-dev"
  name                 = "render-frames"
  image                = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/example/render:git-1a2b3c4"
  image_repository_arn = "arn:aws:ecr:eu-west-1:111111111111:repository/example/render"
  job_queue_arn        = module.queue.arn
  platform             = "EC2"
  vcpus                = 4
  memory_mib           = 15000
  gpus                 = 1
  command              = ["python", "-m", "render"]
  timeout_seconds      = 7200
  log_retention_days   = 30
  log_kms_key_arn      = module.logs_key.key_arn
  schedule_expression  = "cron(0 1 * * ? *)"
  schedule_kms_key_arn = module.logs_key.key_arn
  share_identifier     = "analytics"
  array_size           = 100
}

output "queue_arn" {
  value = module.queue.arn
}

output "scheduling_policy_arn" {
  value = module.queue.scheduling_policy_arn
}

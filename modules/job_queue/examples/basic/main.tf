module "queue" {
  source = "../.."

  name     = "example-dev-default"
  priority = 10
  compute_environment_arns = [
    "arn:aws:batch:eu-west-1:111111111111:compute-environment/example-dev-spot-20240101000000000000000001",
    "arn:aws:batch:eu-west-1:111111111111:compute-environment/example-dev-ondemand-20240101000000000000000002",
  ]
  runnable_timeout_seconds = 7200
}

output "queue_arn" {
  value = module.queue.arn
}

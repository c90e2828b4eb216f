module "repository" {
  source = "../.."

  name             = "example/csv-ingest"
  pull_account_ids = ["111111111111", "222222222222"]
}

output "repository_url" {
  value = module.repository.repository_url
}

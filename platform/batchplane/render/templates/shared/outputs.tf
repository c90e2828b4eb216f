output "repository_urls" {
  description = "Repository URLs by image name."
  value       = { for k, r in module.repository : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by image name."
  value       = { for k, r in module.repository : k => r.repository_arn }
}

output "pull_secret_namespaces" {
  value = sort(tolist(cicd_registry_credentials.pull.namespaces))
}

output "pending_deletions" {
  value = [for d in cicd_forgejo_package_retention.images.pending_deletions : "${d.package}:${d.version}"]
}

output "broken_images" {
  value = [for b in data.cicd_registry_integrity.images.broken : "${b.image}:${b.tag}"]
}

output "infra_repo_id" {
  description = "Woodpecker's numeric id of the infra repository (for pipeline triggers)."
  value       = cicd_woodpecker_repo.infra.id
}

output "ci_global_secrets" {
  value = sort(keys(cicd_woodpecker_global_secret.ci))
}

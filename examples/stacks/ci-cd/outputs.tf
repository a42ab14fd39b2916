output "pull_secret_namespaces" {
  value = sort(tolist(cicd_registry_credentials.pull.namespaces))
}

output "pending_deletions" {
  value = [for d in cicd_forgejo_package_retention.images.pending_deletions : "${d.package}:${d.version}"]
}

output "broken_images" {
  value = [for b in data.cicd_registry_integrity.images.broken : "${b.image}:${b.tag}"]
}

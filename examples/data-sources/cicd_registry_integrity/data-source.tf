# Terraform >= 1.5 / OpenTofu: a plan warns when a tag of "viktor" would not pull
# (its manifest is gone, or a child of a multi-arch index is).
check "registry" {
  data "cicd_registry_integrity" "viktor" {
    owner = "viktor"
  }

  assert {
    condition     = data.cicd_registry_integrity.viktor.broken_count == 0
    error_message = "Broken images: ${jsonencode(data.cicd_registry_integrity.viktor.broken)}"
  }
}

# Terraform 1.0 to 1.4: a plain data source and an output.
data "cicd_registry_integrity" "web" {
  owner            = "viktor"
  repository_regex = "web-.*"
}

output "broken_web_images" {
  value = data.cicd_registry_integrity.web.broken
}

# A broken image index (a child manifest gone) turns into a warning in every plan.
# `check` blocks need Terraform >= 1.5 or OpenTofu >= 1.6; with older CLIs leave this file out
# and watch the `broken_images` output instead.
check "registry_integrity" {
  assert {
    condition     = data.cicd_registry_integrity.images.broken_count == 0
    error_message = "Broken images in the registry: ${join(", ", [for b in data.cicd_registry_integrity.images.broken : "${b.image}:${b.tag} (missing ${b.missing_digest})"])}"
  }
}

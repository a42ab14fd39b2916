# Keep the 10 newest tags of every image of "viktor", every release tag, anything pushed in the
# last 30 days, and the images currently deployed; delete the rest (never a child manifest that
# a kept multi-arch index still uses). A nightly `terraform plan` lists in `deletions` exactly
# what its apply deletes.
resource "cicd_forgejo_package_retention" "images" {
  owner           = "viktor"
  keep_last       = 10
  keep_tags       = ["v\\d+\\.\\d+\\.\\d+", "stable"]
  keep_newer_than = "30d"
  protect_in_use  = ["viktor/app:a1b2c3d4", "viktor/worker@sha256:4b1e770873b4ded8f07a070fef48a8911bad8e0ccd45486bb1692c55b6223bda"]
}

# Only report what a stricter policy would delete for two packages: nothing is deleted and the
# plan stays empty; `pending_deletions` lists the candidates with the reason.
resource "cicd_forgejo_package_retention" "preview" {
  owner     = "cicd-test"
  packages  = ["website", "api"]
  keep_last = 3
  dry_run   = true
}

output "would_delete" {
  value = [for d in cicd_forgejo_package_retention.preview.pending_deletions : "${d.package}:${d.version} (${d.reason})"]
}

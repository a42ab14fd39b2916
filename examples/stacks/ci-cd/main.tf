# The platform's CI/CD wiring that used to live in CronJobs and hand-made objects.
# Woodpecker's part (repository, global secrets from Vault, nightly cron, registry login) is in
# woodpecker.tf.

# The `registry-credentials` pull secret, in every app namespace, from Vault secret/viktor
# (key forgejo_pull_token). State keeps only the KV version: a rotation in Vault shows as an
# update in the nightly plan, and an edited copy shows for its namespace only.
resource "cicd_registry_credentials" "pull" {
  name       = "registry-credentials"
  namespaces = var.app_namespaces

  registries = {
    (var.registry_host) = {
      username            = var.registry_user
      password_from_vault = { mount = "secret", path = "viktor", key = "forgejo_pull_token" }
    }
  }

  labels = {
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

# Replaces the retention CronJob: keep the 10 newest tags per image, releases, anything younger
# than 30 days and what is deployed; never a child of a kept multi-arch index. The nightly
# drift plan lists what its apply deletes as `deletions` (and deletes nothing else).
resource "cicd_forgejo_package_retention" "images" {
  owner           = var.image_owner
  keep_last       = 10
  keep_tags       = ["v\\d+\\.\\d+\\.\\d+"]
  keep_newer_than = "30d"
  protect_in_use  = var.deployed_images
}

# Replaces the 15-minute integrity probe: every tag of the owner's images must pull.
data "cicd_registry_integrity" "images" {
  owner = var.image_owner
}

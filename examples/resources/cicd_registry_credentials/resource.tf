# Pull credentials for the forge's registry in every namespace that runs its images.
# The password is read from Vault KV v2 (secret/ci/registry, key "password"): only its version
# number is kept in state, and a new version in Vault shows in the plan as an update.
resource "cicd_registry_credentials" "forge" {
  name       = "registry-credentials"
  namespaces = ["web", "workers", "batch"]

  registries = {
    "registry.example.com" = {
      username            = "ci-bot"
      password_from_vault = { mount = "secret", path = "ci/registry", key = "password" }
    }
  }

  labels = {
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

# With Terraform/OpenTofu >= 1.11 a password can also be write-only (never in state):
# bump password_wo_version to write a new one.
variable "mirror_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "cicd_registry_credentials" "mirror" {
  name       = "mirror-credentials"
  namespaces = ["web"]

  registries = {
    "mirror.example.com:5000" = {
      username            = "reader"
      password_wo         = var.mirror_token
      password_wo_version = 1
    }
  }
}

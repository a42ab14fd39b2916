# Values from Vault that never reach the state or a plan file (Terraform >= 1.10, OpenTofu >= 1.11).
#
# An ephemeral resource is opened by a configured provider, so the one that reads Vault is an
# alias; the default provider can then take a Vault value as a setting.
provider "cicd" {
  alias = "vault"
  # vault { ... } or VAULT_ADDR / VAULT_TOKEN
}

ephemeral "cicd_vault_kv" "woodpecker" {
  provider = cicd.vault
  path     = "ci/woodpecker" # mount defaults to "secret"
}

ephemeral "cicd_vault_kv" "registry" {
  provider = cicd.vault
  mount    = "secret"
  path     = "ci/registry"
  # version = 3  # a given KV v2 version instead of the current one
}

# A provider setting from Vault.
provider "cicd" {
  woodpecker {
    server = "https://ci.example.com"
    token  = ephemeral.cicd_vault_kv.woodpecker.data["token"]
  }
}

# A write-only attribute (Terraform/OpenTofu >= 1.11): written to the cluster, never stored.
# Bump password_wo_version after rotating the value in Vault to write it again.
resource "cicd_registry_credentials" "pull" {
  namespaces = ["apps"]
  registries = {
    "registry.example.com" = {
      username            = "ci"
      password_wo         = ephemeral.cicd_vault_kv.registry.data["password"]
      password_wo_version = 1
    }
  }
}

resource "cicd_woodpecker_global_secret" "deploy_key" {
  name             = "deploy_key"
  events           = ["push", "deployment"]
  value_wo         = ephemeral.cicd_vault_kv.woodpecker.data["deploy_key"]
  value_wo_version = "1"
}

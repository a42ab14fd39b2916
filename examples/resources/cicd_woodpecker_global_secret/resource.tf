# One instance-wide secret per key of Vault's secret/ci/global (what the secret-copy CronJob
# did every six hours). A key whose value changes in Vault shows in the next plan as an update
# of that one secret; a key added in Vault as a new secret. No value enters the state.
data "cicd_vault_kv_keys" "ci_global" {
  path = "ci/global"
}

resource "cicd_woodpecker_global_secret" "ci" {
  for_each = data.cicd_vault_kv_keys.ci_global.keys

  name   = each.key
  events = ["push", "tag", "deployment", "cron", "manual"]
  value_from_vault {
    path = "ci/global"
    key  = each.key
  }
}

# A value from the configuration, limited to one plugin image (kept in state, sensitive).
variable "docker_password" {
  type      = string
  sensitive = true
}

resource "cicd_woodpecker_global_secret" "docker_password" {
  name   = "docker_password"
  events = ["push", "tag"]
  images = ["woodpeckerci/plugin-docker-buildx"]
  note   = "Push to the forge's registry"
  value  = var.docker_password
}

# Terraform/OpenTofu >= 1.11: a write-only value, never stored; bump value_wo_version to write
# a new one.
variable "sentry_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "cicd_woodpecker_global_secret" "sentry_token" {
  name             = "sentry_token"
  events           = ["push", "manual"]
  value_wo         = var.sentry_token
  value_wo_version = 1
}

# One Woodpecker global secret per key of secret/ci/global: a key added in Vault shows up in
# the next plan, a rotated value as an update of that one secret.
data "cicd_vault_kv_keys" "ci_global" {
  mount = "secret"
  path  = "ci/global"
}

resource "cicd_woodpecker_global_secret" "ci" {
  for_each = data.cicd_vault_kv_keys.ci_global.keys

  name   = each.key
  events = ["push", "tag", "deployment", "manual"]
  value_from_vault {
    mount = "secret"
    path  = "ci/global"
    key   = each.key
  }
}

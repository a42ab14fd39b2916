# Woodpecker: what used to be clicks in the UI and a CronJob.

# The infra repository, activated with the settings the platform wants. Its numeric id (looked
# up by hand in the UI until now) is an output, for the build-to-deploy trigger.
resource "cicd_woodpecker_repo" "infra" {
  full_name        = var.infra_repo
  require_approval = "forks"
  timeout          = 60
}

# Replaces the CronJob that copied Vault secret/ci/global into Woodpecker every six hours: one
# global secret per key. A key added in Vault shows in the next plan as a new secret, a rotated
# value as an update of that one secret; the values never enter the state.
data "cicd_vault_kv_keys" "ci_global" {
  mount = "secret"
  path  = var.ci_secrets_path
}

resource "cicd_woodpecker_global_secret" "ci" {
  for_each = data.cicd_vault_kv_keys.ci_global.keys

  name   = each.key
  events = ["push", "tag", "deployment", "cron", "manual"]
  value_from_vault {
    mount = "secret"
    path  = var.ci_secrets_path
    key   = each.key
  }
}

# The nightly drift-detection pipeline of the infra repository (`plan -detailed-exitcode`).
resource "cicd_woodpecker_cron" "nightly_drift" {
  repo_id  = cicd_woodpecker_repo.infra.id
  name     = "nightly-drift"
  schedule = "0 3 * * *"
  branch   = cicd_woodpecker_repo.infra.default_branch
}

# The infra repository's pipelines pull the `infra-ci` image from the forge's registry.
resource "cicd_woodpecker_registry" "forgejo" {
  repo_id  = cicd_woodpecker_repo.infra.id
  address  = var.registry_host
  username = var.registry_user
  password_from_vault {
    mount = "secret"
    path  = "viktor"
    key   = "forgejo_pull_token"
  }
}

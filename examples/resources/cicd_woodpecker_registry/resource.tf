# Instance-wide pull credentials for the forge's registry (needs an admin token), the password
# from Vault: a new value in Vault shows in the next plan as an update.
resource "cicd_woodpecker_registry" "forge" {
  address  = "git.example.com"
  username = "ci-bot"
  password_from_vault {
    path = "ci/registry"
    key  = "password"
  }
}

# Credentials for one repository only (`org_id` instead: one org's repositories).
variable "ghcr_token" {
  type      = string
  sensitive = true
}

resource "cicd_woodpecker_registry" "ghcr" {
  repo_id  = cicd_woodpecker_repo.infra.id
  address  = "ghcr.io"
  username = "viktorbarzin"
  password = var.ghcr_token
}

# The nightly drift-detection pipeline of the infra repository (`terraform plan
# -detailed-exitcode` in the pipeline), at 03:00 London time on the default branch.
resource "cicd_woodpecker_cron" "nightly_drift" {
  repo_id  = cicd_woodpecker_repo.infra.id
  name     = "nightly-drift"
  schedule = "0 3 * * *"
  timezone = "Europe/London"

  # Reach the pipeline as environment variables.
  variables = {
    DRIFT_ONLY = "1"
  }
}

# Every six hours on a release branch; kept but not running.
resource "cicd_woodpecker_cron" "refresh" {
  repo_id  = cicd_woodpecker_repo.infra.id
  name     = "refresh"
  schedule = "@every 6h"
  branch   = "release"
  enabled  = false
}

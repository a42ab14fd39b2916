# Import by repo_id/cron_id, or by repo_id/name.
terraform import cicd_woodpecker_cron.nightly_drift 12/3
terraform import cicd_woodpecker_cron.nightly_drift 12/nightly-drift

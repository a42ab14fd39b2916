# Import an active repository by owner/name, or by its numeric id. The next plan shows
# on_destroy and adopt_existing only if the configuration sets them to other than the defaults.
terraform import cicd_woodpecker_repo.infra platform/infra
terraform import cicd_woodpecker_repo.infra 12

# A secret of one repository, by its numeric Woodpecker id (which survives forge renames).
resource "cicd_woodpecker_repo_secret" "deploy_key" {
  repo_id = cicd_woodpecker_repo.infra.id
  name    = "deploy_key"
  events  = ["push", "deployment"]
  value_from_vault {
    path = "ci/infra"
    key  = "deploy_key"
  }
}

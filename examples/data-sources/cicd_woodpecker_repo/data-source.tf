# Another stack (e.g. the image build pipeline's) needs the numeric id of a repository that the
# platform stack activates. A repository that is not active fails the plan here.
data "cicd_woodpecker_repo" "infra" {
  full_name = "platform/infra"
}

resource "cicd_woodpecker_cron" "weekly_rebuild" {
  repo_id  = data.cicd_woodpecker_repo.infra.id
  name     = "weekly-rebuild"
  schedule = "@weekly"
  branch   = data.cicd_woodpecker_repo.infra.default_branch
}

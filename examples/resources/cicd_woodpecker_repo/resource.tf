# Activate the infra repository with the settings the platform wants. Settings left out follow
# the server (what activation or a person set); settings written here are enforced, and an
# empty list clears the list on the server.
resource "cicd_woodpecker_repo" "infra" {
  full_name        = "platform/infra"
  require_approval = "forks"
  timeout          = 60
  config_file      = ".woodpecker/"

  # Only new pushes cancel running pipelines; pull requests run to the end.
  cancel_previous_pipeline_events = ["push"]
  approval_allowed_users          = []
}

# A repository whose pipelines build images: privileged containers need a Woodpecker admin
# token. `on_destroy = "remove"` deletes it with its secrets and history on destroy (the default,
# `deactivate`, keeps them and the id for a later re-activation).
resource "cicd_woodpecker_repo" "images" {
  full_name        = "platform/images"
  trusted_security = true
  on_destroy       = "remove"
}

# After renaming the repository on the forge (platform/infra -> platform/infrastructure), change
# full_name to the new name: the plan updates it in place and keeps its id, secrets and history.

# The numeric id, for pipeline triggers and the secret resources.
output "infra_repo_id" {
  value = cicd_woodpecker_repo.infra.id
}

# Actions need Terraform >= 1.14 (older CLIs and OpenTofu reject `action` blocks).
terraform {
  required_version = ">= 1.14.0"
}

resource "cicd_woodpecker_repo" "web" {
  full_name = "team/web"

  # Start the deploy pipeline once the repository is activated.
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.cicd_woodpecker_pipeline.deploy]
    }
  }
}

# Or by hand: terraform apply -invoke=action.cicd_woodpecker_pipeline.deploy
action "cicd_woodpecker_pipeline" "deploy" {
  config {
    repo_id   = cicd_woodpecker_repo.web.id
    branch    = "main"
    variables = { DEPLOY_TAG = "a1b2c3d4" }

    # Wait for the pipeline's end: a failed pipeline fails the apply.
    wait    = true
    timeout = "20m"
  }
}

# Terraform >= 1.14 only (the example's tests leave this file out for older CLIs and OpenTofu):
# the build-to-deploy step, which was a `curl -X POST .../api/repos/<ID>/pipelines` after the
# image build, as a declared action. The image build hands its tag over as `deploy_tag`; a new
# tag starts the infra repository's deploy pipeline with DEPLOY_TAG set, and waits for it.
# By hand: terraform apply -invoke=action.cicd_woodpecker_pipeline.deploy -var deploy_tag=...
action "cicd_woodpecker_pipeline" "deploy" {
  config {
    repo_id   = cicd_woodpecker_repo.infra.id
    branch    = cicd_woodpecker_repo.infra.default_branch
    variables = { DEPLOY_TAG = var.deploy_tag }
    wait      = true
    timeout   = "30m"
  }
}

resource "terraform_data" "image_built" {
  count = var.deploy_tag == null ? 0 : 1
  input = var.deploy_tag

  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.cicd_woodpecker_pipeline.deploy]
    }
  }
}

variable "deploy_tag" {
  type        = string
  default     = null
  description = "Tag of the image the build just pushed (8 hex characters); unset, no deploy runs."
}

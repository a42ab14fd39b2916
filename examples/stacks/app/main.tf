# The app side: one image deployment per app, fed by the commit being deployed, as the deploy
# pipeline sets it:  terraform apply -var tag=$(git rev-parse --short=8 HEAD)
# Replaces `kubectl set image deployment/<app> <app>=<image>:<sha>`; a tag missing from the
# registry fails the plan instead of the rollout, and `kubectl set image` by hand shows as drift.
terraform {
  required_providers {
    cicd = {
      source = "viktorbarzin/cicd"
    }
  }
}

provider "cicd" {}

variable "registry_host" {
  type = string
}

variable "image_owner" {
  type    = string
  default = "viktor"
}

variable "apps" {
  type        = map(string)
  description = "App name -> namespace. Each app is deployment/<app>, container <app>, image <owner>/<app>."
}

variable "tag" {
  type        = string
  description = "8-character commit SHA of the images to deploy (never latest)."
}

resource "cicd_image_deployment" "app" {
  for_each = var.apps

  namespace  = each.value
  deployment = each.key
  container  = each.key
  image      = "${var.registry_host}/${var.image_owner}/${each.key}"
  tag        = var.tag
  rollout_timeout = "2m"
}

output "deployed_images" {
  value = [for k, d in cicd_image_deployment.app : "${var.image_owner}/${k}:${d.tag}"]
}

# Deploy a commit's image to one container of a Deployment and wait for the rollout.
# The tag must exist in the registry (for a multi-arch index, for every platform of the
# cluster's nodes): checked at plan, and again before the apply writes when the tag was not
# pushed yet at plan (e.g. by a build step earlier in the same apply), so a missing image
# fails before the rollout.
variable "commit" {
  type        = string
  description = "Short commit id (8 hex characters) of the image to deploy."
}

resource "cicd_image_deployment" "web" {
  namespace  = "web"
  deployment = "web"
  container  = "app"
  image      = "registry.example.com/team/web"
  tag        = var.commit

  # force defaults to true: the field is taken over from `kubectl set image` (field manager
  # kubectl-set) or the chart that created the Deployment. Set force = false to fail instead.
  rollout_timeout = "10m"
}

# Init containers are found by name too.
resource "cicd_image_deployment" "migrations" {
  namespace  = "web"
  deployment = "web"
  container  = "migrate"
  image      = "registry.example.com/team/web-migrations"
  tag        = var.commit
}

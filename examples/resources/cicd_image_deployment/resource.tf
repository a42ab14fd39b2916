# Deploy a commit's image to one container of a Deployment and wait for the rollout.
# The tag must exist in the registry at plan time (for a multi-arch index, for every platform
# of the cluster's nodes), so a missing image fails the plan instead of the rollout.
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

  # The deploy pipeline used `kubectl set image` (field manager kubectl-set) until now:
  # taking the image field over once needs force.
  force           = true
  rollout_timeout = "10m"
}

# Init containers are found by name too.
resource "cicd_image_deployment" "migrations" {
  namespace  = "web"
  deployment = "web"
  container  = "migrate"
  image      = "registry.example.com/team/web-migrations"
  tag        = var.commit
  force      = true
}

# Actions need Terraform >= 1.14 (older CLIs and OpenTofu reject `action` blocks).
terraform {
  required_version = ">= 1.14.0"
}

# Restart the pods after the pull secret changed, like `kubectl rollout restart`:
#   terraform apply -invoke=action.cicd_rollout_restart.web
action "cicd_rollout_restart" "web" {
  config {
    namespace       = "web"
    deployment      = "web"
    rollout_timeout = "10m"
  }
}

resource "cicd_registry_credentials" "pull" {
  namespaces = ["web"]
  registries = {
    "registry.example.com" = {
      username            = "deploy"
      password_wo         = var.registry_password
      password_wo_version = 2
    }
  }

  # New credentials reach running pods only when they restart.
  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.cicd_rollout_restart.web]
    }
  }
}

variable "registry_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

terraform {
  # terraform query and list resources: Terraform >= 1.14.
  required_version = ">= 1.14.0"
  required_providers {
    cicd = {
      source = "viktorbarzin/cicd"
    }
  }
}

# Settings from the environment: WOODPECKER_SERVER / WOODPECKER_TOKEN (an admin's token),
# KUBECONFIG.
provider "cicd" {}

terraform {
  required_providers {
    cicd = {
      source = "viktorbarzin/cicd"
    }
  }
}

# Settings come from the environment the platform's pipelines already have:
# WOODPECKER_SERVER / WOODPECKER_TOKEN (an admin's token), FORGEJO_URL / FORGEJO_TOKEN /
# FORGEJO_USER, KUBECONFIG (or the in-cluster service account), VAULT_ADDR / VAULT_TOKEN (or a
# vault { kubernetes_auth { role = "ci" } } block).
provider "cicd" {}

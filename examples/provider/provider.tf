terraform {
  required_providers {
    cicd = {
      source = "viktorbarzin/cicd"
    }
  }
}

# Every block is optional; each setting falls back to the environment variable shown.
provider "cicd" {
  woodpecker {
    server = "https://ci.example.com" # WOODPECKER_SERVER
    # token from WOODPECKER_TOKEN
  }

  forgejo {
    url = "https://forgejo.example.com" # FORGEJO_URL
    # token from FORGEJO_TOKEN, username from FORGEJO_USER
  }

  kubernetes {
    # KUBECONFIG, else the in-cluster service account
    config_context = "prod"
  }

  vault {
    address = "https://vault.example.com" # VAULT_ADDR
    kubernetes_auth {
      role = "ci"
      # mount = "kubernetes", jwt_path = the in-cluster service account token
    }
  }
}

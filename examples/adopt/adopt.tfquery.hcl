# What a platform that grew by hand already has, found by `terraform query`.

# Every active Woodpecker repository of the `team` org.
list "cicd_woodpecker_repo" "team" {
  provider = cicd
  config {
    owners = ["team"]
  }
}

# Every container of every Deployment in the app namespaces, image split into image + tag.
list "cicd_image_deployment" "apps" {
  provider = cicd
  config {
    namespaces = ["web", "api"]
  }
}

# The global secrets and pull secrets: listed by name. Their values are never read: the
# generated blocks have no value source, choose one (Vault or write-only) before planning.
list "cicd_woodpecker_global_secret" "ci" {
  provider = cicd
  config {
    name_prefix = "ci_"
  }
}

list "cicd_registry_credentials" "pull" {
  provider = cicd
  config {
    namespaces = ["web", "api"]
  }
}

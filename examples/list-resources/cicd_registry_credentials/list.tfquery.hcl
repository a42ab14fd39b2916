# terraform query (Terraform >= 1.14): the pull secrets `registry-credentials` (type
# kubernetes.io/dockerconfigjson) of these namespaces, one result per copy; user names only.
list "cicd_registry_credentials" "pull" {
  provider = cicd
  config {
    namespaces = ["web", "api"]
    name       = "registry-credentials"
  }
}

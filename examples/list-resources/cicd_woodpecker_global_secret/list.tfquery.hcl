# terraform query (Terraform >= 1.14): the global secrets whose name starts with `deploy_`.
# Woodpecker never returns values: generated blocks leave the value source to you.
list "cicd_woodpecker_global_secret" "deploy" {
  provider = cicd
  config {
    name_prefix = "deploy_"
  }
}

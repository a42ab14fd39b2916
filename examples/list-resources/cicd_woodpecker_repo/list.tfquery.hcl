# terraform query (Terraform >= 1.14): the active repositories of the `team` org.
# terraform query -generate-config-out=repos.tf writes resource and import blocks for them.
list "cicd_woodpecker_repo" "team" {
  provider = cicd
  config {
    owners = ["team"]
  }
}

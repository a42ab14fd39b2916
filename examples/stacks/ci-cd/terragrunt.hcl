# How the platform's Terragrunt stacks run this module. (The demo and the tests run the same
# module with plain terraform / tofu and the same inputs: Terragrunt cannot be built here.)
terraform {
  source = "."
}

inputs = {
  registry_host   = "forgejo.example.com"
  image_owner     = "viktor"
  registry_user   = "viktor"
  app_namespaces  = ["website", "finance", "health", "travel-blog", "webhook-handler"]
  deployed_images = []
}

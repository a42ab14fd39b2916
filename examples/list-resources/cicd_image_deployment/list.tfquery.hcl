# terraform query (Terraform >= 1.14): every container of every Deployment in two namespaces,
# each image split into image and tag.
list "cicd_image_deployment" "apps" {
  provider = cicd
  config {
    namespaces = ["web", "api"]
  }
}

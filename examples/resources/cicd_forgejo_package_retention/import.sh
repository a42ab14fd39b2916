# A retention policy is imported by owner and package type. The policy attributes come from the
# configuration; nothing is deleted until the next apply.
terraform import cicd_forgejo_package_retention.images viktor/container

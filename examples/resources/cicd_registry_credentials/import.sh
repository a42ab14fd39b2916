# Import one copy by namespace/name. The next apply writes the configured copies once,
# since the provider cannot check a password it did not write.
terraform import cicd_registry_credentials.forge web/registry-credentials

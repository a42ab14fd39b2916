# Import the copies by namespace/name, or ns1,ns2,.../name for several namespaces. The next
# apply writes the configured copies once, since the provider cannot check a password it did
# not write.
terraform import cicd_registry_credentials.forge web,api/registry-credentials

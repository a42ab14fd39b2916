# Import by repo_id/name. The next apply writes the configured value source once.
terraform import cicd_woodpecker_repo_secret.deploy_key 12/deploy_key

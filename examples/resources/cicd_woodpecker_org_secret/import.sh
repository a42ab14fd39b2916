# Import by org_id/name. The next apply writes the configured value source once.
terraform import cicd_woodpecker_org_secret.slack_webhook 3/slack_webhook

# A secret for every repository of one org (a forge organization or user), by the org's name;
# `org_id` works too.
resource "cicd_woodpecker_org_secret" "slack_webhook" {
  org    = "platform"
  name   = "slack_webhook"
  events = ["push", "tag", "cron"]
  value_from_vault {
    mount = "secret"
    path  = "ci/platform"
    key   = "slack_webhook"
  }
}

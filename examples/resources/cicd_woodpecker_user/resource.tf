# An account for a new team member, created before their first login through the forge.
resource "cicd_woodpecker_user" "alice" {
  login = "alice"
  email = "alice@example.com"
}

# An instance admin.
resource "cicd_woodpecker_user" "ops" {
  login = "ops-bot"
  email = "ops@example.com"
  admin = true
}

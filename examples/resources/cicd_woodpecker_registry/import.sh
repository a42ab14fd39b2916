# Instance-wide: by address. For one repository: repo/ID/address. For one org: org/ID/address.
# Woodpecker never returns a password, so the next apply writes the configured one once.
terraform import cicd_woodpecker_registry.forge git.example.com
terraform import cicd_woodpecker_registry.ghcr repo/12/ghcr.io

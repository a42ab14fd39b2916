# A Woodpecker user is imported by its login.
terraform import cicd_woodpecker_user.alice alice

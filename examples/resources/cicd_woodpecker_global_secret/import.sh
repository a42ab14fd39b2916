# Import by the secret's name. Woodpecker never returns a value, so the next apply writes the
# configured value source once (the plan shows an update).
terraform import 'cicd_woodpecker_global_secret.ci["docker_password"]' docker_password

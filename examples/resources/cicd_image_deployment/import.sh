# Import by namespace/deployment/container.
terraform import cicd_image_deployment.web web/web/app

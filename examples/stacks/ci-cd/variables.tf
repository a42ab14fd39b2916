variable "registry_host" {
  type        = string
  description = "Host (and port) of the forge's OCI registry, as it appears in image references."
}

variable "image_owner" {
  type        = string
  default     = "viktor"
  description = "Forgejo owner of the platform's private images."
}

variable "registry_user" {
  type        = string
  default     = "viktor"
  description = "User the pull token belongs to."
}

variable "app_namespaces" {
  type        = set(string)
  description = "Namespaces whose pods pull the platform's private images."
}

variable "deployed_images" {
  type        = list(string)
  default     = []
  description = "Images currently deployed (owner/name:tag), never deleted by retention; fed from the app stacks' outputs."
}

variable "infra_repo" {
  type        = string
  default     = "viktor/infra"
  description = "`owner/name` of the infrastructure repository on the forge, activated in Woodpecker."
}

variable "ci_secrets_path" {
  type        = string
  default     = "ci/global"
  description = "Vault KV v2 path (mount `secret`) whose keys become Woodpecker global secrets."
}

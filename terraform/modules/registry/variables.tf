variable "name" {
  description = "Name prefix of the repositories: \"<name>/control-plane\" and \"<name>/render-node\"."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the images."
  type        = string
}

variable "keep_images" {
  description = "Tagged images kept per repository; older ones expire."
  type        = number
  default     = 50
}

variable "force_delete" {
  description = "Let `terraform destroy` delete repositories that still hold images (staging)."
  type        = bool
  default     = false
}

variable "protected_tags" {
  description = "Image tags that run now (the deployed control-plane and render-node tags): the lifecycle policy never expires them, however many newer images are pushed."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.protected_tags) < 99
    error_message = "At most 98 protected tags (lifecycle rule priorities 1-98)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

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

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

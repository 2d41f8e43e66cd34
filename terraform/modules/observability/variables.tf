variable "name" {
  description = "Name prefix of every resource (e.g. \"sm-prod\")."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application log groups, in days (CloudWatch accepts 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  type        = number
  default     = 365
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm the subscription mail)."
  type        = list(string)
  default     = []
}

variable "access_logs_expiration_days" {
  description = "Days the load balancer's access logs are kept in S3."
  type        = number
  default     = 90
}

variable "force_destroy_access_logs" {
  description = "Let `terraform destroy` delete the access-log bucket with its objects (staging)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

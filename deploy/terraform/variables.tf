variable "app" {
  description = "The application's name, as in tasks/<app>/app.json."
  type        = string
}

variable "tasks" {
  description = "The application's tasks: one Lambda function each."
  type        = list(string)
}

variable "bucket" {
  description = "The S3 bucket of the store; the app uses s3://<bucket>/fusion/<app>."
  type        = string
}

variable "package" {
  description = "The zip with the fusion-host binary as `bootstrap` (built for Lambda)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64, matching the package."
  type        = string
  default     = "x86_64"
}

variable "memory_mb" {
  description = "Memory size per task's function, as the fusion setup says (1024 MB otherwise)."
  type        = map(number)
  default     = {}
}

variable "artifact_key" {
  description = "The key sealing precompiled artifacts in the store (64 hex digits)."
  type        = string
  sensitive   = true
}

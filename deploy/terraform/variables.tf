variable "region" {
  description = "AWS region of the cluster, the output bucket and the Earthdata data (us-west-2 for in-region access)."
  type        = string
  default     = "us-west-2"
}

variable "name" {
  description = "Prefix for every resource this module creates."
  type        = string
  default     = "vzgen"
}

variable "image" {
  description = "The vzgen image (built from deploy/Dockerfile), e.g. <account>.dkr.ecr.us-west-2.amazonaws.com/vzgen:0.1.0."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster the tasks run in."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets for the Fargate tasks (with a route to S3, CMR and Earthdata Login)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups for the Fargate tasks (outbound HTTPS)."
  type        = list(string)
}

variable "output_bucket" {
  description = "Bucket the stores are published to, under virtual_collections/<COLLECTION>/."
  type        = string
}

variable "staging_bucket" {
  description = "Optional second bucket that receives a copy of every store (empty: none)."
  type        = string
  default     = ""
}

variable "ssm_edl_username" {
  description = "Name of the SSM parameter holding the Earthdata Login user name."
  type        = string
}

variable "ssm_edl_password" {
  description = "Name of the SSM parameter (SecureString) holding the Earthdata Login password."
  type        = string
}

variable "collections" {
  description = "Collections to publish and append to nightly: short name -> settings."
  type = map(object({
    loadable_vars = string
    start_date    = optional(string, "")
    end_date      = optional(string, "")
  }))
  default = {
    "MUR-JPL-L4-GLOB-v4.1" = { loadable_vars = "lat,lon,time" }
  }
}

variable "schedule" {
  description = "EventBridge Scheduler expression for the nightly append."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 2048
}

variable "memory" {
  description = "Fargate task memory (MiB). vzgen keeps about 40 bytes per chunk reference in memory."
  type        = number
  default     = 4096
}

variable "log_retention_days" {
  type    = number
  default = 30
}

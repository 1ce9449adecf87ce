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

# Scale-out runs on AWS Batch (batch.tf).

variable "batch_collections" {
  description = "Collections rebuilt nightly as scale-out runs (plan -> shards -> merge -> publish): short name -> settings. Empty: none."
  type = map(object({
    loadable_vars = string
    start_date    = optional(string, "")
    end_date      = optional(string, "")
  }))
  default = {}
}

variable "batch_compute_type" {
  description = "Where the steps run: FARGATE, FARGATE_SPOT, or SPOT (EC2 Spot instances)."
  type        = string
  default     = "FARGATE"
  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT", "SPOT"], var.batch_compute_type)
    error_message = "batch_compute_type must be FARGATE, FARGATE_SPOT or SPOT."
  }
}

variable "batch_max_vcpus" {
  description = "vCPUs the compute environment may run at once (shards run two each)."
  type        = number
  default     = 256
}

variable "batch_attempts" {
  description = "Attempts per job (and per array child) when a host fails or a read fails (exit 1)."
  type        = number
  default     = 3
  validation {
    condition     = var.batch_attempts >= 1 && var.batch_attempts <= 10
    error_message = "AWS Batch allows 1 to 10 attempts."
  }
}

variable "shard_size" {
  description = "Granules per shard (VZ_SHARD_SIZE): about 300 granules/s per shard, docs/job.md."
  type        = number
  default     = 20000
}

variable "max_array_size" {
  description = "Most shards a run may have; AWS Batch arrays have at most 10,000 children."
  type        = number
  default     = 10000
  validation {
    condition     = var.max_array_size >= 2 && var.max_array_size <= 10000
    error_message = "max_array_size must be between 2 and 10,000 (AWS Batch's array limit)."
  }
}

variable "plan_timeout_seconds" {
  description = "Time limit of one plan or publish attempt."
  type        = number
  default     = 1800
}

variable "shard_timeout_seconds" {
  description = "Time limit of one shard attempt: keep shards well inside the one-hour credential."
  type        = number
  default     = 3600
}

variable "merge_timeout_seconds" {
  description = "Time limit of one merge attempt."
  type        = number
  default     = 3600
}

variable "merge_memory" {
  description = "Memory (MiB) of merge and publish, which hold the whole store (about 140 bytes a reference)."
  type        = number
  default     = 8192
}

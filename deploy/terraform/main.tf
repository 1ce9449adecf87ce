# vzgen collection job on ECS Fargate: one task definition whose container runs `vzgen job`
# with the seed pipeline's environment contract, a task role that may read exactly the two SSM
# parameters and write exactly the output prefixes, a log group, and one nightly EventBridge
# schedule per collection that runs the job in append mode (docs/job.md).

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

locals {
  account      = data.aws_caller_identity.current.account_id
  ssm_arns     = [for p in [var.ssm_edl_username, var.ssm_edl_password] : "arn:aws:ssm:${var.region}:${local.account}:parameter/${trimprefix(p, "/")}"]
  out_buckets  = compact([var.output_bucket, var.staging_bucket])
  out_prefixes = [for b in local.out_buckets : "arn:aws:s3:::${b}/virtual_collections/*"]
}

resource "aws_cloudwatch_log_group" "job" {
  # checkov:skip=CKV_AWS_158:CloudWatch Logs already encrypts at rest; the job's lines carry no secrets (e2e.job and image-test check that passwords and keys are never logged), so a customer key would only add a key policy to maintain. Set kms_key_id here if your account requires one.
  # checkov:skip=CKV_AWS_338:Operational logs of a nightly job; the published report beside each store is the lasting record. Raise log_retention_days where a year is required.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

# The role ECS uses to start the task: pull the image, write logs.
resource "aws_iam_role" "execution" {
  name = "${var.name}-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The role vzgen runs as (credentials from the ECS container endpoint): the two Earthdata
# parameters, and the output prefixes (read for append, write for publish). Earthdata granules
# are read with the temporary credentials of the DAAC's s3credentials endpoint, not this role.
resource "aws_iam_role" "task" {
  name = "${var.name}-task"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "task" {
  name = "${var.name}-task"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EarthdataLoginParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.ssm_arns
      },
      {
        Sid      = "DecryptSecureStrings"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = "*"
        Condition = {
          StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" }
        }
      },
      {
        Sid      = "PublishStores"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
        Resource = local.out_prefixes
      }
    ]
  })
}

resource "aws_ecs_task_definition" "job" {
  # checkov:skip=CKV_AWS_336:vzgen writes its Earthdata netrc (removed at exit) under /tmp. A read-only root would need a writable /tmp volume owned by the image's non-root user, which has not been tried on Fargate (no AWS account was used to test this module); image-test checks that the job leaves the rest of the file system as it found it.
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name      = "vzgen"
    image     = var.image
    essential = true
    # COLLECTION, LOADABLE_VARS, START_DATE, END_DATE and VZ_JOB_MODE are set per run (the
    # schedules below override them); the rest is fixed here.
    environment = [
      { name = "OUTPUT_BUCKET", value = var.output_bucket },
      { name = "STAGING_BUCKET", value = var.staging_bucket },
      { name = "SSM_EDL_USERNAME", value = var.ssm_edl_username },
      { name = "SSM_EDL_PASSWORD", value = var.ssm_edl_password },
      { name = "AWS_REGION", value = var.region },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.job.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "job"
      }
    }
  }])
}

# EventBridge Scheduler runs the task nightly per collection, in append mode: granules already
# in the published store are skipped, new ones are added.
resource "aws_iam_role" "scheduler" {
  name = "${var.name}-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "${var.name}-scheduler"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["ecs:RunTask"]
        Resource = [aws_ecs_task_definition.job.arn_without_revision, "${aws_ecs_task_definition.job.arn_without_revision}:*"]
      },
      {
        Effect   = "Allow"
        Action   = ["iam:PassRole"]
        Resource = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
      }
    ]
  })
}

resource "aws_scheduler_schedule" "append" {
  # checkov:skip=CKV_AWS_297:The schedule holds only collection names, variables and dates, no secrets; AWS-owned encryption applies.
  for_each            = var.collections
  name                = "${var.name}-${substr(replace(lower(each.key), "/[^a-z0-9-]/", "-"), 0, 40)}"
  schedule_expression = var.schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.job.arn
      launch_type         = "FARGATE"
      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }
    input = jsonencode({
      containerOverrides = [{
        name = "vzgen"
        environment = [
          { name = "COLLECTION", value = each.key },
          { name = "LOADABLE_VARS", value = each.value.loadable_vars },
          { name = "START_DATE", value = each.value.start_date },
          { name = "END_DATE", value = each.value.end_date },
          { name = "VZ_JOB_MODE", value = "append" },
        ]
      }]
    })
  }
}

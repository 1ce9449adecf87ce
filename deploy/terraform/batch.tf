# Scale-out runs (docs/job.md, "Beyond one machine") on AWS Batch: a compute environment
# (Fargate, or EC2 Spot), a queue, one job definition per step (plan, shard, merge, publish)
# running `vzgen job` with VZ_JOB_MODE, and a Step Functions state machine that the nightly
# schedule starts per collection: plan -> an array job of shards sized from the plan -> merge
# (after the whole array) -> publish. Shards and merge are retried on host failures (Spot
# reclaims, lost instances) and on I/O errors (exit 1), never on bad configuration (exit 2) or
# refused credentials (exit 4). Every role may touch only the run prefix it needs.

locals {
  batch_fargate   = var.batch_compute_type == "FARGATE" || var.batch_compute_type == "FARGATE_SPOT"
  runs_prefix_arn = "arn:aws:s3:::${var.output_bucket}/runs/*"
  platform        = local.batch_fargate ? "FARGATE" : "EC2"
  # exit 0 done; 1 I/O or host trouble: retry; 2 bad configuration, 4 credentials refused: stop
  retry_conditions = [
    { on_status_reason = "Host EC2*", on_exit_code = null, on_reason = null, action = "RETRY" },
    { on_status_reason = null, on_exit_code = "1", on_reason = null, action = "RETRY" },
    { on_status_reason = null, on_exit_code = "2", on_reason = null, action = "EXIT" },
    { on_status_reason = null, on_exit_code = "4", on_reason = null, action = "EXIT" },
    { on_status_reason = null, on_exit_code = null, on_reason = "*", action = "EXIT" },
  ]
  steps = {
    plan    = { timeout = var.plan_timeout_seconds, vcpu = "1", memory = "2048", role = "steps" }
    shard   = { timeout = var.shard_timeout_seconds, vcpu = "2", memory = "4096", role = "steps" }
    merge   = { timeout = var.merge_timeout_seconds, vcpu = "2", memory = tostring(var.merge_memory), role = "steps" }
    publish = { timeout = var.plan_timeout_seconds, vcpu = "1", memory = tostring(var.merge_memory), role = "publish" }
  }
}

resource "aws_iam_role" "batch_service" {
  name = "${var.name}-batch-service"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "batch.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "batch_service" {
  role       = aws_iam_role.batch_service.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole"
}

# EC2 Spot only: the instances' role (the ECS agent's), not the jobs'.
resource "aws_iam_role" "batch_instance" {
  count = local.batch_fargate ? 0 : 1
  name  = "${var.name}-batch-instance"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "batch_instance" {
  count      = local.batch_fargate ? 0 : 1
  role       = aws_iam_role.batch_instance[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "batch_instance" {
  count = local.batch_fargate ? 0 : 1
  name  = "${var.name}-batch-instance"
  role  = aws_iam_role.batch_instance[0].name
}

resource "aws_batch_compute_environment" "runs" {
  compute_environment_name = "${var.name}-runs"
  type                     = "MANAGED"
  service_role             = aws_iam_role.batch_service.arn
  compute_resources {
    type                = var.batch_compute_type
    max_vcpus           = var.batch_max_vcpus
    subnets             = var.subnet_ids
    security_group_ids  = var.security_group_ids
    instance_role       = local.batch_fargate ? null : aws_iam_instance_profile.batch_instance[0].arn
    instance_type       = local.batch_fargate ? null : ["optimal"]
    allocation_strategy = local.batch_fargate ? null : "SPOT_PRICE_CAPACITY_OPTIMIZED"
    min_vcpus           = local.batch_fargate ? null : 0
  }
  depends_on = [aws_iam_role_policy_attachment.batch_service]
}

resource "aws_batch_job_queue" "runs" {
  name     = "${var.name}-runs"
  state    = "ENABLED"
  priority = 1
  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.runs.arn
  }
}

# The steps' role: read and write the run prefix only (plan, shard, merge). Earthdata granules
# are read with Earthdata credentials, not this role.
resource "aws_iam_role" "steps" {
  name = "${var.name}-steps"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "steps" {
  name = "${var.name}-steps"
  role = aws_iam_role.steps.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "RunPrefix"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
      Resource = [local.runs_prefix_arn]
    }]
  })
}

# Publish: read the run, write the published stores and their pointer.
resource "aws_iam_role" "publish" {
  name = "${var.name}-publish"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "publish" {
  name = "${var.name}-publish"
  role = aws_iam_role.publish.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadRun"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = [local.runs_prefix_arn]
      },
      {
        Sid      = "PublishStores"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = local.out_prefixes
      }
    ]
  })
}

resource "aws_batch_job_definition" "step" {
  for_each              = local.steps
  name                  = "${var.name}-${each.key}"
  type                  = "container"
  platform_capabilities = [local.platform]
  propagate_tags        = true
  retry_strategy {
    attempts = var.batch_attempts
    dynamic "evaluate_on_exit" {
      for_each = local.retry_conditions
      content {
        on_status_reason = evaluate_on_exit.value.on_status_reason
        on_exit_code     = evaluate_on_exit.value.on_exit_code
        on_reason        = evaluate_on_exit.value.on_reason
        action           = evaluate_on_exit.value.action
      }
    }
  }
  timeout {
    attempt_duration_seconds = each.value.timeout
  }
  container_properties = jsonencode({
    image            = var.image
    command          = ["job"]
    jobRoleArn       = each.value.role == "publish" ? aws_iam_role.publish.arn : aws_iam_role.steps.arn
    executionRoleArn = aws_iam_role.execution.arn
    resourceRequirements = [
      { type = "VCPU", value = each.value.vcpu },
      { type = "MEMORY", value = each.value.memory },
    ]
    environment = [
      { name = "VZ_JOB_MODE", value = each.key },
      { name = "OUTPUT_BUCKET", value = var.output_bucket },
      { name = "AWS_REGION", value = var.region },
      { name = "VZ_SHARD_SIZE", value = tostring(var.shard_size) },
    ]
    networkConfiguration = local.batch_fargate ? { assignPublicIp = "DISABLED" } : null
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.job.name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  })
}

# The nightly run of one collection: plan, then the array of shards sized from the plan's
# latest.json (one shard: a single job with its index set, since Batch arrays have 2 to 10,000
# children), then merge once every child succeeded, then publish.
locals {
  submit = "arn:aws:states:::batch:submitJob.sync"
  queue  = aws_batch_job_queue.runs.arn
  run_environment = [
    { Name = "VZ_RUN", "Value.$" = "$.latest.plan.run" },
    { Name = "COLLECTION", "Value.$" = "$.collection" },
  ]
  state_machine = {
    Comment = "vzgen scale-out run: plan -> shards -> merge -> publish (docs/job.md)"
    StartAt = "Plan"
    States = {
      Plan = {
        Type     = "Task"
        Resource = local.submit
        Parameters = {
          JobName       = "plan"
          JobQueue      = local.queue
          JobDefinition = aws_batch_job_definition.step["plan"].arn
          ContainerOverrides = {
            Environment = [
              { Name = "COLLECTION", "Value.$" = "$.collection" },
              { Name = "LOADABLE_VARS", "Value.$" = "$.loadable_vars" },
              { Name = "START_DATE", "Value.$" = "$.start_date" },
              { Name = "END_DATE", "Value.$" = "$.end_date" },
              { Name = "VZ_RUN_PREFIX", "Value.$" = "States.Format('s3://${var.output_bucket}/runs/{}/', $.collection)" },
            ]
          }
        }
        ResultPath = null
        Next       = "ReadPlan"
      }
      ReadPlan = {
        Type     = "Task"
        Resource = "arn:aws:states:::aws-sdk:s3:getObject"
        Parameters = {
          Bucket  = var.output_bucket
          "Key.$" = "States.Format('runs/{}/latest.json', $.collection)"
        }
        ResultSelector = { "plan.$" = "States.StringToJson($.Body)" }
        ResultPath     = "$.latest"
        Next           = "HowManyShards"
      }
      HowManyShards = {
        Type = "Choice"
        Choices = [
          { Variable = "$.latest.plan.shards", NumericGreaterThan = var.max_array_size, Next = "TooManyShards" },
          { Variable = "$.latest.plan.shards", NumericEquals = 1, Next = "OneShard" },
        ]
        Default = "Shards"
      }
      TooManyShards = {
        Type  = "Fail"
        Error = "TooManyShards"
        Cause = "The plan has more shards than an AWS Batch array may have children: raise shard_size."
      }
      OneShard = {
        Type     = "Task"
        Resource = local.submit
        Parameters = {
          JobName       = "shard"
          JobQueue      = local.queue
          JobDefinition = aws_batch_job_definition.step["shard"].arn
          ContainerOverrides = {
            Environment = concat(local.run_environment, [
              { Name = "VZ_SHARD_INDEX_ENV", Value = "VZ_SHARD_INDEX" },
              { Name = "VZ_SHARD_INDEX", Value = "0" },
            ])
          }
        }
        ResultPath = null
        Next       = "Merge"
      }
      Shards = {
        Type     = "Task"
        Resource = local.submit
        Parameters = {
          JobName            = "shards"
          JobQueue           = local.queue
          JobDefinition      = aws_batch_job_definition.step["shard"].arn
          ArrayProperties    = { "Size.$" = "$.latest.plan.shards" }
          ContainerOverrides = { Environment = local.run_environment }
        }
        ResultPath = null
        Next       = "Merge"
      }
      Merge = {
        Type     = "Task"
        Resource = local.submit
        Parameters = {
          JobName            = "merge"
          JobQueue           = local.queue
          JobDefinition      = aws_batch_job_definition.step["merge"].arn
          ContainerOverrides = { Environment = local.run_environment }
        }
        ResultPath = null
        Next       = "Publish"
      }
      Publish = {
        Type     = "Task"
        Resource = local.submit
        Parameters = {
          JobName            = "publish"
          JobQueue           = local.queue
          JobDefinition      = aws_batch_job_definition.step["publish"].arn
          ContainerOverrides = { Environment = local.run_environment }
        }
        ResultPath = null
        End        = true
      }
    }
  }
}

resource "aws_iam_role" "run_machine" {
  name = "${var.name}-run-machine"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "run_machine" {
  # checkov:skip=CKV_AWS_290:batch:DescribeJobs has no resource-level permissions (AWS requires "*"); it only reads job status. TerminateJob is limited to this account's jobs.
  # checkov:skip=CKV_AWS_355:The one "*" is batch:DescribeJobs, which AWS accepts only on "*"; every other action names its resources.
  name = "${var.name}-run-machine"
  role = aws_iam_role.run_machine.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "SubmitSteps"
        Effect   = "Allow"
        Action   = ["batch:SubmitJob"]
        Resource = concat([aws_batch_job_queue.runs.arn], [for d in aws_batch_job_definition.step : d.arn])
      },
      {
        Sid      = "FollowSteps"
        Effect   = "Allow"
        Action   = ["batch:DescribeJobs"]
        Resource = "*"
      },
      {
        Sid      = "StopSteps"
        Effect   = "Allow"
        Action   = ["batch:TerminateJob"]
        Resource = ["arn:aws:batch:${var.region}:${local.account}:job/*"]
      },
      {
        Sid      = "SyncRule"
        Effect   = "Allow"
        Action   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
        Resource = ["arn:aws:events:${var.region}:${local.account}:rule/StepFunctionsGetEventsForBatchJobsRule"]
      },
      {
        Sid      = "ReadLatestPlan"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["arn:aws:s3:::${var.output_bucket}/runs/*/latest.json"]
      }
    ]
  })
}

resource "aws_sfn_state_machine" "run" {
  # checkov:skip=CKV_AWS_284:X-Ray adds nothing here: each state is one Batch job whose own logs (the JSON lines of vzgen job) and exit code say what happened.
  # checkov:skip=CKV_AWS_285:Execution history (90 days) and the Batch jobs' CloudWatch logs record every run; a state-machine log group would repeat them.
  name       = "${var.name}-run"
  role_arn   = aws_iam_role.run_machine.arn
  definition = jsonencode(local.state_machine)
}

resource "aws_iam_role" "run_scheduler" {
  name = "${var.name}-run-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "run_scheduler" {
  name = "${var.name}-run-scheduler"
  role = aws_iam_role.run_scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["states:StartExecution"]
      Resource = [aws_sfn_state_machine.run.arn]
    }]
  })
}

resource "aws_scheduler_schedule" "run" {
  # checkov:skip=CKV_AWS_297:The schedule holds only collection names, variables and dates, no secrets; AWS-owned encryption applies.
  for_each            = var.batch_collections
  name                = "${var.name}-run-${substr(replace(lower(each.key), "/[^a-z0-9-]/", "-"), 0, 36)}"
  schedule_expression = var.schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_sfn_state_machine.run.arn
    role_arn = aws_iam_role.run_scheduler.arn
    input = jsonencode({
      collection    = each.key
      loadable_vars = each.value.loadable_vars
      start_date    = each.value.start_date
      end_date      = each.value.end_date
    })
  }
}

output "task_definition_arn" {
  description = "Run it once per collection (VZ_JOB_MODE=build) to publish the first store."
  value       = aws_ecs_task_definition.job.arn
}

output "task_role_arn" {
  value = aws_iam_role.task.arn
}

output "log_group" {
  value = aws_cloudwatch_log_group.job.name
}

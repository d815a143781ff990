output "role_arn" {
  value = aws_iam_role.functions.arn
}

output "functions" {
  description = "Task → Lambda function name."
  value       = { for task, f in aws_lambda_function.task : task => f.function_name }
}

output "kv_table" {
  description = "The DynamoDB table of the tasks' key-value stores."
  value       = aws_dynamodb_table.kv.name
}

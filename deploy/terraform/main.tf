# The infrastructure `fusion deploy aws` makes, for people who prefer Terraform: one IAM role per
# app, one DynamoDB table per app for the tasks' key-value stores, and one Lambda function per
# task, all running the same package. Names, environment and permissions match the CLI's
# (deploy/aws/src/), so the two can take turns on one deployment.
# The components and setups live in the store; push them with the CLI:
#   FUSION_S3_BUCKET=<bucket> FUSION_S3_PREFIX=fusion/<app>/ fusion push --app <app>
#   FUSION_S3_BUCKET=<bucket> FUSION_S3_PREFIX=fusion/<app>/ fusion setup apply all-remote --app <app>

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

locals {
  prefix = "fusion-${var.app}-"
  store  = "s3://${var.bucket}/fusion/${var.app}"
}

data "aws_region" "current" {}

# The tasks' key-value stores: partition key `store` (the store's name), sort key `key`; items
# hold their bytes as `value`.
resource "aws_dynamodb_table" "kv" {
  name         = "${local.prefix}kv"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "store"
  range_key    = "key"

  attribute {
    name = "store"
    type = "S"
  }

  attribute {
    name = "key"
    type = "S"
  }
}

resource "aws_iam_role" "functions" {
  name = "${local.prefix}role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "fusion" {
  name = "fusion"
  role = aws_iam_role.functions.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject"], Resource = "arn:aws:s3:::${var.bucket}/fusion/${var.app}/*" },
      { Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:aws:s3:::${var.bucket}" },
      { Effect = "Allow", Action = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"], Resource = aws_dynamodb_table.kv.arn },
      { Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:${data.aws_region.current.name}:*:function:${local.prefix}*" },
      { Effect = "Allow", Action = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], Resource = "*" },
    ]
  })
}

resource "aws_lambda_function" "task" {
  for_each = toset(var.tasks)

  function_name    = "${local.prefix}${each.key}"
  role             = aws_iam_role.functions.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.package
  source_code_hash = filebase64sha256(var.package)
  memory_size      = lookup(var.memory_mb, each.key, 1024)
  timeout          = 300

  environment {
    variables = {
      FUSION_STORE           = local.store
      FUSION_APP             = var.app
      FUSION_FUNCTION        = each.key
      FUSION_FUNCTION_PREFIX = local.prefix
      FUSION_ARTIFACT_KEY    = var.artifact_key
      FUSION_KV_TABLE        = aws_dynamodb_table.kv.name
    }
  }
}

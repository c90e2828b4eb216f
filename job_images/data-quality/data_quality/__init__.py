"""data-quality: check the rows of a DynamoDB table and publish the results as CloudWatch metrics."""

"""report: summarise a DynamoDB table into a small JSON object on S3."""

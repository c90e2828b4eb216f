"""csv-ingest: load a CSV object from S3 into a DynamoDB table, one item per row."""

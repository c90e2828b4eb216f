"""What compute can hold: the EC2 instance catalogue and how AWS Batch expands instance types."""

"""AWS set-up helpers: doctor checks, the IAM policy, report upload to S3."""

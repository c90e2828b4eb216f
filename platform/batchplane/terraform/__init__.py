"""Terraform over the rendered roots: the CLI adapter, the lifecycle, the records of what was applied."""

"""Checkov over the rendered roots and plans, in process, failing closed."""

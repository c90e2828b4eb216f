"""Workflows that span the pipeline: ``up``, ``promote`` and running jobs."""

"""Spec -> per-environment Terraform roots, rendered in memory and written only when changed."""

from batchplane.render.tree import Changes, OwnershipError, Rendered, compare, render, write

__all__ = ["Changes", "OwnershipError", "Rendered", "compare", "render", "write"]

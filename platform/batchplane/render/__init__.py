"""Spec -> per-environment Terraform roots, rendered in memory and written only when changed."""

from batchplane.render.tree import (
    Changes,
    ManifestError,
    OwnershipError,
    Rendered,
    UnsafeTreeError,
    compare,
    render,
    write,
)

__all__ = ["Changes", "ManifestError", "OwnershipError", "Rendered", "UnsafeTreeError", "compare", "render", "write"]

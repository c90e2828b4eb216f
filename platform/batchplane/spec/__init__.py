"""The platform spec: models, loading with line numbers, per-environment resolution."""

from batchplane.spec.loader import SPEC_FILENAME, Spec, find_spec, load_spec, parse_spec

__all__ = ["SPEC_FILENAME", "Spec", "find_spec", "load_spec", "parse_spec"]

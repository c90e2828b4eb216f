"""The spec's JSON Schema, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Any

from batchplane.spec.models import Platform

SCHEMA_ID = "https://batchplane.dev/schemas/platform-v1.json"


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of platform.yaml, version 1."""
    schema = Platform.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "batchplane platform spec (platform.yaml), version 1",
        **schema,
    }

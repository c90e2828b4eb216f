"""The base of every spec model and the name type that all sections share.

Kept apart from :mod:`batchplane.spec.models` so that the job models
(:mod:`batchplane.spec.jobs`) and the platform models can both build on it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""Names of environments, compute environments, queues, jobs and images."""


class Model(BaseModel):
    """Base of every spec model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

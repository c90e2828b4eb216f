"""The pipeline models of the spec: named DAGs of job steps, run by AWS Step Functions.

A pipeline's steps each run one job of the spec (with optional parameter
overrides and an optional array size); ``depends_on`` orders them. Like every
spec model they forbid unknown keys and are frozen; checks that relate steps to
jobs and to each other (unknown names, cycles, array sizes, AWS limits) live in
:mod:`batchplane.spec.pipeline_checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from batchplane.spec.base import Model, Name
from batchplane.spec.jobs import ArraySize, ParameterName, Trigger
from batchplane.spec.schedule import schedule_problem


class Step(Model):
    """One step of a pipeline: a job of the spec, run once (or as an array) when its dependencies succeeded."""

    job: Name
    parameters: dict[ParameterName, str] = Field(
        default_factory=dict, description="Values for parameters the job declares (they replace its defaults)."
    )
    depends_on: list[Name] = Field(
        default_factory=list,
        description="Steps that must succeed first. Between two array steps the dependency is "
        "element-by-element (N_TO_N) and both need the same array_size.",
    )
    array_size: ArraySize | None = Field(
        default=None, description="Run the step as an array job of this many children (2..10000)."
    )


class Pipeline(Model):
    """A DAG of steps, rendered as a Step Functions state machine."""

    schedule: str | None = Field(default=None, description="cron(...), rate(...) or at(...).")
    triggers: list[Trigger] = Field(
        default_factory=list, description="S3 object-created events that start the pipeline."
    )
    on_failure: Literal["stop", "continue"] = Field(
        default="stop",
        description="stop: a failing step fails the execution at once; continue: the failed step's dependents "
        "are skipped, independent steps still run, and the execution then fails.",
    )
    steps: Annotated[dict[Name, Step], Field(min_length=1)]

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            problem = schedule_problem(value)
            if problem is not None:
                raise ValueError(
                    f"{value!r} is not an EventBridge Scheduler expression: {problem} "
                    "(cron(m h dom mon dow year), rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss))"
                )
        return value

"""Checks of the pipelines section: steps against jobs, steps against each other, and AWS limits.

Yields ``(location, message)`` like :mod:`batchplane.spec.checks` (which calls
:func:`check_pipelines`), so that every problem is reported at its spec line in
one run. The semantics checked here are the ones the state machine implements
(:mod:`batchplane.render.pipelines`):

- a dependency between two array steps is element-by-element (N_TO_N): child
  *i* of the dependent step may start only after child *i* of the step it
  depends on succeeded, so both need the same ``array_size``;
- a step may depend on at most :data:`MAX_DEPENDENCIES` steps, AWS Batch's
  ``dependsOn`` limit per job.
"""

from __future__ import annotations

import graphlib
from collections.abc import Collection, Iterator

from batchplane.spec.locations import Loc
from batchplane.spec.models import Platform
from batchplane.spec.names import unknown_name
from batchplane.spec.pipelines import Pipeline

Finding = tuple[Loc, str]

MAX_DEPENDENCIES = 20
"""AWS Batch: "a job can express a dependency on up to 20 other jobs" (User Guide, Job dependencies)."""


def check_pipelines(platform: Platform, broken_jobs: Collection[str] = ()) -> Iterator[Finding]:
    """Every cross-reference and limit problem of the pipelines of a platform.

    ``broken_jobs`` are jobs that exist but did not parse: steps naming them are not unknown.
    """
    for name, pipeline in platform.pipelines.items():
        yield from _steps(platform, name, pipeline, broken_jobs)
        yield from _cycle(name, pipeline)
        yield from _triggers(name, pipeline)
        if name in platform.jobs:
            yield (
                ("pipelines", name),
                f"a job is named {name} too: jobs and pipelines share their AWS names (roles, schedules), "
                "rename one of them",
            )


def _steps(platform: Platform, name: str, pipeline: Pipeline, broken_jobs: Collection[str]) -> Iterator[Finding]:
    for step_name, step in pipeline.steps.items():
        loc: Loc = ("pipelines", name, "steps", step_name)
        job = platform.jobs.get(step.job)
        if job is None and step.job not in broken_jobs:
            yield (*loc, "job"), unknown_name("job", step.job, platform.jobs)
        if job is not None:
            for parameter in sorted(set(step.parameters) - set(job.parameters)):
                yield (
                    (*loc, "parameters", parameter),
                    f"job {step.job} declares no parameter {parameter!r} "
                    f"(declared: {', '.join(sorted(job.parameters)) or 'none'}); add it to the job's parameters",
                )
        if len(step.depends_on) > MAX_DEPENDENCIES:
            yield (
                (*loc, "depends_on"),
                f"{len(step.depends_on)} dependencies: AWS Batch allows at most {MAX_DEPENDENCIES} per job",
            )
        seen: set[str] = set()
        for index, other in enumerate(step.depends_on):
            where = (*loc, "depends_on", index)
            if other in seen:
                yield where, f"{other} is listed twice"
            seen.add(other)
            if other == step_name:
                yield where, f"step {step_name} depends on itself"
                continue
            dependency = pipeline.steps.get(other)
            if dependency is None:
                yield where, unknown_name(f"step in pipeline {name}", other, pipeline.steps)
                continue
            if step.array_size is not None and dependency.array_size not in (None, step.array_size):
                yield (
                    where,
                    f"array steps depend element by element (N_TO_N): {step_name} has array_size "
                    f"{step.array_size}, {other} has {dependency.array_size}; give both the same size",
                )


def _cycle(name: str, pipeline: Pipeline) -> Iterator[Finding]:
    graph = {step: {d for d in s.depends_on if d in pipeline.steps and d != step} for step, s in pipeline.steps.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = list(reversed(exc.args[1]))
        yield (
            ("pipelines", name, "steps", cycle[0], "depends_on"),
            f"the steps form a cycle: {' -> '.join(cycle)} (each depends on the one after it)",
        )


def _triggers(name: str, pipeline: Pipeline) -> Iterator[Finding]:
    for index, trigger in enumerate(pipeline.triggers):
        if trigger.s3.parameter is not None:
            yield (
                ("pipelines", name, "triggers", index, "s3", "parameter"),
                "a pipeline trigger passes the object as the execution's input, not as a job parameter: "
                "remove parameter (steps take their parameters from the spec)",
            )

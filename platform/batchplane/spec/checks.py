"""Checks that relate parts of a spec to each other, and to AWS limits.

Each check yields ``(location, message)`` pairs; the loader turns them into
located problems so that every problem of a spec is reported in one run.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path

from batchplane import layout
from batchplane.spec.locations import Loc
from batchplane.spec.models import Platform
from batchplane.spec.pipeline_checks import check_pipelines

Finding = tuple[Loc, str]

# Fargate accepts these vCPU values, each with its own memory range (MiB).
FARGATE_MEMORY: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1.0: tuple(range(2048, 8192 + 1, 1024)),
    2.0: tuple(range(4096, 16384 + 1, 1024)),
    4.0: tuple(range(8192, 30720 + 1, 1024)),
    8.0: tuple(range(16384, 61440 + 1, 4096)),
    16.0: tuple(range(32768, 122880 + 1, 8192)),
}

# The longest suffix batchplane adds to "{platform}-{env}-{job}" for an IAM
# role name ("-events"); IAM role names stop at 64 characters.
LONGEST_ROLE_SUFFIX = len("-events")
IAM_ROLE_NAME_LIMIT = 64


def check_references(
    platform: Platform, images_dir: Path | None, broken: Mapping[str, frozenset[str]] | None = None
) -> list[Finding]:
    """Every cross-reference and AWS-limit problem of a (resolved) platform.

    ``broken`` names the entries of a spec with schema errors that exist but did not
    parse (per section): references to them are not unknown, only unchecked.
    """
    broken = broken or {}
    return [
        *_queues(platform, broken.get("compute", frozenset())),
        *_jobs(platform, broken.get("queues", frozenset())),
        *_images(platform, images_dir),
        *_name_lengths(platform),
        *check_pipelines(platform, broken.get("jobs", frozenset())),
    ]


def _queues(platform: Platform, broken: frozenset[str]) -> Iterator[Finding]:
    for name, queue in platform.queues.items():
        kinds = set()
        for index, ref in enumerate(queue.compute):
            compute = platform.compute.get(ref)
            if compute is None and ref in broken:
                continue
            if compute is None:
                yield (
                    ("queues", name, "compute", index),
                    unknown_name("compute environment", ref, platform.compute),
                )
            else:
                kinds.add("Fargate" if compute.is_fargate else "EC2")
        if len(kinds) > 1:
            yield (
                ("queues", name, "compute"),
                "a queue cannot mix Fargate and EC2 compute environments (AWS refuses it)",
            )


def _jobs(platform: Platform, broken: frozenset[str]) -> Iterator[Finding]:
    for name, job in platform.jobs.items():
        queue = platform.queues.get(job.queue)
        if queue is None and job.queue in broken:
            continue
        if queue is None:
            yield ("jobs", name, "queue"), unknown_name("queue", job.queue, platform.queues)
            continue
        computes = [platform.compute[c] for c in queue.compute if c in platform.compute]
        if not computes:
            continue
        if computes[0].is_fargate:
            memories = FARGATE_MEMORY.get(job.vcpus)
            if memories is None:
                yield (
                    ("jobs", name, "vcpus"),
                    (
                        f"{job.vcpus:g} vCPU is not a Fargate size (queue {job.queue} is Fargate): "
                        f"use one of {', '.join(f'{v:g}' for v in FARGATE_MEMORY)}"
                    ),
                )
            elif job.memory_mib not in memories:
                yield (
                    ("jobs", name, "memory_mib"),
                    (
                        f"{job.memory_mib} MiB does not pair with {job.vcpus:g} vCPU on Fargate: "
                        f"use {_describe(memories)}"
                    ),
                )
        elif job.vcpus != int(job.vcpus):
            yield (
                ("jobs", name, "vcpus"),
                f"EC2 jobs take whole vCPUs, got {job.vcpus:g} (queue {job.queue} is EC2)",
            )
        largest = max(c.max_vcpus for c in computes)
        if job.vcpus > largest:
            yield (
                ("jobs", name, "vcpus"),
                (
                    f"{job.vcpus:g} vCPU can never run: the compute environments of queue {job.queue} "
                    f"allow at most {largest}"
                ),
            )
        for index, trigger in enumerate(job.triggers):
            parameter = trigger.s3.parameter
            if parameter is not None and parameter not in job.parameters:
                yield (
                    ("jobs", name, "triggers", index, "s3", "parameter"),
                    (f"the job declares no parameter {parameter!r} (add it under parameters with a default)"),
                )


def _images(platform: Platform, images_dir: Path | None) -> Iterator[Finding]:
    if images_dir is None or not images_dir.is_dir():
        return
    for name, job in platform.jobs.items():
        if not (images_dir / job.image / "Dockerfile").is_file():
            yield ("jobs", name, "image"), f"{layout.IMAGES_DIR}/{job.image}/Dockerfile does not exist"


def _name_lengths(platform: Platform) -> Iterator[Finding]:
    if not platform.environments:
        return
    longest_env = max(platform.environments, key=len)
    for name in platform.jobs:
        role = f"{platform.name}-{longest_env}-{name}"
        if len(role) + LONGEST_ROLE_SUFFIX > IAM_ROLE_NAME_LIMIT:
            yield (
                ("jobs", name),
                (
                    f"names derived from it are too long for IAM: {role!r} plus a role suffix exceeds "
                    f"{IAM_ROLE_NAME_LIMIT} characters; shorten the platform, environment or job name"
                ),
            )


def unknown_name(what: str, ref: str, known: Collection[str]) -> str:
    """``no queue named 'nightly' (did you mean 'night'?) (known: ...)``."""
    names = ", ".join(sorted(known)) or "none defined"
    return f"no {what} named {ref!r}{did_you_mean(ref, known)} (known: {names})"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'prod'?)`` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(values: tuple[int, ...]) -> str:
    steps = {b - a for a, b in itertools.pairwise(values)}
    if len(steps) == 1 and len(values) > 3:
        return f"{values[0]}..{values[-1]} in steps of {steps.pop()}"
    return "one of " + ", ".join(map(str, values))

"""Checks that relate parts of a spec to each other, and to AWS limits.

Each check yields ``(location, message)`` pairs; the loader turns them into
located problems so that every problem of a spec is reported in one run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from batchplane import layout
from batchplane.spec.jobs import Job
from batchplane.spec.locations import Loc
from batchplane.spec.models import Platform, Queue
from batchplane.spec.names import unknown_name
from batchplane.spec.pipeline_checks import check_pipelines

Finding = tuple[Loc, str]

# The longest suffix the job and pipeline modules add to "{platform}-{env}-{name}" for an
# IAM role name ("-events"); IAM role names stop at 64 characters.
LONGEST_ROLE_SUFFIX = len("-events")
IAM_ROLE_NAME_LIMIT = 64

# A fair-share weight becomes the AWS weight factor (largest weight / weight), which AWS
# takes within 0.0001..999.9999: the largest weight may be at most this many times the smallest.
MAX_WEIGHT_RATIO = 999


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
        yield from _weights(name, queue)


def _weights(name: str, queue: Queue) -> Iterator[Finding]:
    if queue.fair_share is None:
        return
    shares = queue.fair_share.shares
    largest, smallest = max(shares, key=shares.__getitem__), min(shares, key=shares.__getitem__)
    ratio = shares[largest] / shares[smallest]
    if ratio > MAX_WEIGHT_RATIO:
        yield (
            ("queues", name, "fair_share", "shares"),
            (
                f"{largest} weighs {ratio:.6g} times as much as {smallest}: AWS weight factors "
                f"(largest weight / weight) stop at 999.9999, so weights may differ at most {MAX_WEIGHT_RATIO} times"
            ),
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
        # Sizes that exist on Fargate and fit the queue's compute are policy rules (BP-CAP-*).
        if computes and not computes[0].is_fargate and job.vcpus != int(job.vcpus):
            yield (
                ("jobs", name, "vcpus"),
                f"EC2 jobs take whole vCPUs, got {job.vcpus:g} (queue {job.queue} is EC2)",
            )
        yield from _share(name, job, queue)
        for index, trigger in enumerate(job.triggers):
            parameter = trigger.s3.parameter
            if parameter is not None and parameter not in job.parameters:
                yield (
                    ("jobs", name, "triggers", index, "s3", "parameter"),
                    (f"the job declares no parameter {parameter!r} (add it under parameters with a default)"),
                )


def _share(name: str, job: Job, queue: Queue) -> Iterator[Finding]:
    policy = queue.fair_share
    if policy is None:
        if job.share is not None:
            yield (
                ("jobs", name, "share"),
                f"queue {job.queue} has no fair_share: remove share, or give the queue a fair_share policy",
            )
        return
    if job.share is None:
        yield (
            ("jobs", name),
            f"queue {job.queue} is a fair-share queue: set share to one of {', '.join(sorted(policy.shares))}",
        )
    elif job.share not in policy.shares:
        yield (
            ("jobs", name, "share"),
            f"{unknown_name('share identifier', job.share, policy.shares)} on fair-share queue {job.queue}",
        )
    if job.triggers:
        yield (
            ("jobs", name, "triggers"),
            (
                f"S3 triggers cannot submit to fair-share queue {job.queue}: EventBridge's Batch target "
                "passes no share identifier, and AWS Batch refuses a job without one on a fair-share queue "
                "(a schedule is fine: the scheduler passes the share identifier)"
            ),
        )


def _images(platform: Platform, images_dir: Path | None) -> Iterator[Finding]:
    if images_dir is None or not images_dir.is_dir():
        return
    for name, job in platform.jobs.items():
        if not (images_dir / job.image / "Dockerfile").is_file():
            yield ("jobs", name, "image"), f"{layout.IMAGES_DIR}/{job.image}/Dockerfile does not exist"


def _name_lengths(platform: Platform) -> Iterator[Finding]:
    """Jobs and pipelines name IAM roles ``{platform}-{env}-{name}-<suffix>``: they must fit IAM's limit."""
    if not platform.environments:
        return
    longest_env = max(platform.environments, key=len)
    for section, what in (("jobs", "job"), ("pipelines", "pipeline")):
        for name in getattr(platform, section):
            role = f"{platform.name}-{longest_env}-{name}"
            if len(role) + LONGEST_ROLE_SUFFIX > IAM_ROLE_NAME_LIMIT:
                yield (
                    (section, name),
                    f"names derived from it are too long for IAM: {role!r} plus a role suffix exceeds "
                    f"{IAM_ROLE_NAME_LIMIT} characters; shorten the platform, environment or {what} name",
                )

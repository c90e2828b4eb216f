"""What a new job is: its name checked, its queue and interruptibility chosen, its spec entry.

Everything here is decided from the spec in memory; nothing is written.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from typing import Any

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode
from batchplane.spec import Spec
from batchplane.spec.base import NAME_PATTERN
from batchplane.spec.models import Platform

DEFAULT_QUEUE = "default"
VCPUS = 1
MEMORY_MIB = 2048
"""1 vCPU and 2 GiB: whole vCPUs for EC2 and a valid Fargate pair, so one default fits every queue."""
TIMEOUT = "1h"
SPOT_ATTEMPTS = 3
SPOT_RECLAIM_REASON = "Host EC2*"
IDENTITY_ACTION = "sts:GetCallerIdentity"
"""The one call the scaffolded program makes. AWS answers it for any identity, so granting it grants
nothing; the statement says in the spec what the new job does with AWS."""

# Packages a job image's package must not be named after: the image folder's tests/ directory,
# this tool, and what the image installs or its tests import (it would shadow them on sys.path).
_TAKEN_PACKAGES = frozenset(
    {
        "tests",
        "batchplane",
        "boto3",
        "botocore",
        "jmespath",
        "dateutil",
        "s3transfer",
        "six",
        "urllib3",
        "pytest",
        "moto",
    }
)


class ScaffoldError(BatchplaneError):
    """The job cannot be scaffolded as asked (name taken, unknown queue, ...): nothing was changed."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class NewJob:
    """The decisions for one new job type."""

    name: str
    queue: str
    interruptible: bool
    fargate: bool
    spot: bool
    """The queue has Spot capacity (in some environment): the job retries a reclaimed host."""

    @property
    def package(self) -> str:
        return package_of(self.name)

    def entry(self) -> dict[str, Any]:
        """The spec entry, as plain values."""
        retry: dict[str, Any] = {"attempts": 1}
        if self.spot:
            retry = {
                "attempts": SPOT_ATTEMPTS,
                "on_exit": [{"on_status_reason": SPOT_RECLAIM_REASON, "action": "retry"}],
            }
        return {
            "image": self.name,
            "queue": self.queue,
            "vcpus": VCPUS,
            "memory_mib": MEMORY_MIB,
            "command": ["python", "-m", self.package],
            "timeout": TIMEOUT,
            "retry": retry,
            "interruptible": self.interruptible,
            "statements": [{"effect": "Allow", "actions": [IDENTITY_ACTION], "resources": ["*"]}],
        }


def package_of(name: str) -> str:
    """The image's Python package: the job name with ``_`` for ``-``."""
    return name.replace("-", "_")


def check_name(name: str, spec: Spec) -> None:
    """A valid, free name: not a job, not a folder under job_images/, not a package it would shadow."""
    if not re.match(NAME_PATTERN, name):
        raise ScaffoldError(
            f"job name {name!r}: use lowercase letters, digits and '-', starting with a letter, at most 32 characters"
        )
    if name in spec.platform.jobs:
        raise ScaffoldError(f"job {name!r} already exists in {spec.path.name} (jobs.{name}): choose another name")
    folder = layout.image_dir(spec.root, name)
    if folder.exists() or folder.is_symlink():
        raise ScaffoldError(f"{layout.IMAGES_DIR}/{name} already exists: choose another name")
    package = package_of(name)
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in _TAKEN_PACKAGES:
        raise ScaffoldError(
            f"job name {name!r}: its package {package!r} would shadow the Python module of that name; choose another"
        )


def platforms(spec: Spec) -> list[Platform]:
    """The base platform and every environment's resolved one (overrides may change compute kinds)."""
    return [spec.platform, *(spec.env(env) for env in spec.environments)]


def fargate_everywhere(resolved: list[Platform], queue: str) -> bool:
    """Every compute of the queue is Fargate, in every platform."""
    return all(platform.compute[c].is_fargate for platform in resolved for c in platform.queues[queue].compute)


def spot_anywhere(resolved: list[Platform], queue: str) -> bool:
    """Some compute of the queue is Spot, in some platform."""
    return any(platform.compute[c].is_spot for platform in resolved for c in platform.queues[queue].compute)


def on_demand_queues(spec: Spec) -> list[str]:
    """The queues without Spot capacity in any environment: where a job that is not interruptible goes."""
    resolved = platforms(spec)
    return [q for q in spec.platform.queues if not spot_anywhere(resolved, q)]


def choose(
    spec: Spec, name: str, queue: str | None = None, interruptible: bool | None = None, fargate: bool = False
) -> NewJob:
    """Queue and interruptibility for a new job.

    Without ``--queue``: among the queues that fit the flags (Fargate ones for
    ``fargate``, ones without Spot for ``interruptible=False``), ``default``
    if it is one of them, else the first in the spec. ``interruptible``
    defaults to whether the queue has Spot capacity.
    """
    check_name(name, spec)
    resolved = platforms(spec)
    queues = list(spec.platform.queues)
    if queue is not None:
        if queue not in spec.platform.queues:
            raise ScaffoldError(f"no queue named {queue!r} (the spec has: {', '.join(queues) or 'none'})")
        if fargate and not fargate_everywhere(resolved, queue):
            fargate_queues = [q for q in queues if fargate_everywhere(resolved, q)]
            raise ScaffoldError(
                f"--fargate: queue {queue!r} is not a Fargate queue "
                f"(Fargate queues: {', '.join(fargate_queues) or 'none'})"
            )
    else:
        candidates = queues
        if fargate:
            candidates = [q for q in candidates if fargate_everywhere(resolved, q)]
        if interruptible is False:
            candidates = [q for q in candidates if not spot_anywhere(resolved, q)]
        if not candidates:
            asked = [
                flag for flag, on in (("--fargate", fargate), ("--no-interruptible", interruptible is False)) if on
            ]
            fits = f"fits {' '.join(asked)}" if asked else "exists"
            raise ScaffoldError(f"no queue in {spec.path.name} {fits}: add one under queues, or name one with --queue")
        queue = DEFAULT_QUEUE if DEFAULT_QUEUE in candidates else candidates[0]
    spot = spot_anywhere(resolved, queue)
    return NewJob(
        name=name,
        queue=queue,
        interruptible=spot if interruptible is None else interruptible,
        fargate=fargate_everywhere(resolved, queue),
        spot=spot,
    )

"""BP-CAP: every job fits the compute of its queue, so that none waits in RUNNABLE forever.

Instance facts come from :mod:`batchplane.capacity` (the catalogue moto ships);
an instance type the catalogue does not know holds nothing and is a finding of
its own (BP-CAP-005), never taken to fit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from batchplane.capacity import fargate
from batchplane.capacity.catalogue import KEYWORD_FAMILIES, Expansion, catalogue, expand
from batchplane.capacity.placement import GPUS, MEMORY, Demand, Placement
from batchplane.policy.rules.context import Check, Context, Rule, compute_address, here, job_address, queue_address
from batchplane.spec.jobs import Job
from batchplane.spec.locations import Loc
from batchplane.spec.models import Compute
from batchplane.spec.names import did_you_mean

_FIELD_OF = {GPUS: "gpus", MEMORY: "memory_mib"}


@functools.cache
def _expansion(entries: tuple[str, ...]) -> Expansion:
    return expand(entries)


def _computes(ctx: Context, job: Job) -> list[Compute]:
    return [ctx.platform.compute[c] for c in ctx.platform.queues[job.queue].compute]


def _instance_types(computes: list[Compute]) -> Expansion:
    entries = dict.fromkeys(entry for c in computes if not c.is_fargate for entry in c.instance_types or ())
    return _expansion(tuple(entries))


def _ec2_jobs(ctx: Context) -> Iterator[tuple[str, Job, Expansion]]:
    for name, job in ctx.platform.jobs.items():
        computes = _computes(ctx, job)
        if not any(c.is_fargate for c in computes):
            yield name, job, _instance_types(computes)


def never_placed(ctx: Context) -> Iterator[Check]:
    for name, job, types in _ec2_jobs(ctx):
        # A GPU job on a queue without any GPU type is BP-CAP-002's; here its vCPUs and memory are judged.
        gpus = (job.gpus or 0) if any(t.gpus for t in types.types) else 0
        placement = Placement(Demand(job.vcpus, job.memory_mib, gpus), types)
        message = placement.explain(f"queue {job.queue}")
        nearest = placement.nearest()
        lacking = placement.demand.short_of(nearest) if nearest is not None else ()
        field = _FIELD_OF.get(lacking[0], "vcpus") if lacking else "queue"
        loc = here(ctx, ("jobs", name, field)) if message else ("jobs", name)
        yield Check(loc, job_address(name), message)


def gpu_instances(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if not job.gpus:
            continue
        loc = here(ctx, ("jobs", name, "gpus"))
        computes = _computes(ctx, job)
        if any(c.is_fargate for c in computes):
            message = f"queue {job.queue} is Fargate, which has no GPUs: use an EC2 queue with GPU instance types"
            yield Check(loc, job_address(name), message)
        elif not any(t.gpus for t in _instance_types(computes).types):
            listed = ", ".join(entry for c in computes for entry in c.instance_types or ())
            message = f"no instance type queue {job.queue} can launch has a GPU (instance types: {listed})"
            yield Check(loc, job_address(name), message)
        else:
            yield Check(loc, job_address(name))


def within_max_vcpus(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        largest = max(c.max_vcpus for c in _computes(ctx, job))
        loc = here(ctx, ("jobs", name, "vcpus"))
        if job.vcpus > largest:
            message = (
                f"{job.vcpus:g} vCPU can never run: the compute environments of queue {job.queue} "
                f"allow at most {largest} (max_vcpus)"
            )
            yield Check(loc, job_address(name), message)
        else:
            yield Check(loc, job_address(name))


def fargate_sizes(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if not any(c.is_fargate for c in _computes(ctx, job)):
            continue
        vcpus = fargate.vcpu_problem(job.vcpus)
        memory = fargate.memory_problem(job.vcpus, job.memory_mib)
        field = "vcpus" if vcpus else "memory_mib"
        problem = vcpus or memory
        message = f"{problem} (queue {job.queue} is Fargate)" if problem else None
        yield Check(here(ctx, ("jobs", name, field)), job_address(name), message)


@functools.cache
def _known_words() -> tuple[str, ...]:
    types = catalogue()
    return (*types, *sorted({t.family for t in types.values()}), *KEYWORD_FAMILIES)


def known_instance_types(ctx: Context) -> Iterator[Check]:
    for name, compute in ctx.platform.compute.items():
        for index, entry in enumerate(compute.instance_types or ()):
            loc: Loc = here(ctx, ("compute", name, "instance_types", index))
            if _expansion((entry,)).unknown:
                message = (
                    f"the instance catalogue knows no instance type, family or keyword {entry!r}"
                    f"{did_you_mean(entry, _known_words())}: Batch cannot launch it, and nothing can be judged to fit"
                )
                yield Check(loc, compute_address(name), message)
            else:
                yield Check(loc, compute_address(name))


def useful_reservation(ctx: Context) -> Iterator[Check]:
    for name, queue in ctx.platform.queues.items():
        policy = queue.fair_share
        if policy is None:
            continue
        loc = here(ctx, ("queues", name, "fair_share", "compute_reservation"), ("queues", name, "fair_share"))
        if policy.compute_reservation and len(policy.shares) == 1:
            [share] = policy.shares
            message = (
                f"compute_reservation keeps {policy.compute_reservation}% of the queue's vCPUs for share "
                f"identifiers not yet active, but {share} is the only one jobs may use: that capacity idles"
            )
            yield Check(loc, queue_address(name), message)
        else:
            yield Check(loc, queue_address(name))


RULES: tuple[Rule, ...] = (
    Rule("BP-CAP-001", "Every job fits an instance type its queue can launch", "high", never_placed),
    Rule("BP-CAP-002", "GPU jobs are on queues with GPU instance types", "high", gpu_instances),
    Rule("BP-CAP-003", "No job needs more vCPUs than its queue's compute allows", "high", within_max_vcpus),
    Rule("BP-CAP-004", "Fargate jobs ask for a size Fargate offers", "high", fargate_sizes),
    Rule("BP-CAP-005", "Instance types are known to the instance catalogue", "high", known_instance_types),
    Rule("BP-CAP-006", "compute_reservation only with several share identifiers", "medium", useful_reservation),
)

"""BP-OPS: capacity within budget, jobs that end, logs kept long enough.

BP-OPS-001 also counts array jobs: an array of N children of v vCPUs each asks
for N x v vCPUs at once. A job's ``array_size`` (its scheduled and triggered
runs) or a pipeline step's whose demand exceeds the environment's
``max_vcpus`` can at best run in waves; it is flagged at the ``array_size`` line.
"""

from __future__ import annotations

from collections.abc import Iterator

from batchplane.policy.rules.context import Check, Context, Rule, here, job_address
from batchplane.spec.locations import Loc


def vcpu_budget(ctx: Context) -> Iterator[Check]:
    budget = ctx.platform.environments[ctx.environment].max_vcpus
    total = sum(c.max_vcpus for c in ctx.platform.compute.values())
    loc = ("environments", ctx.environment, "max_vcpus")
    if total > budget:
        yield Check(loc, "module.compute", f"compute may scale to {total} vCPUs, over the budget of {budget}")
    else:
        yield Check(loc, "module.compute")
    yield from _array_demand(ctx, budget)


def _arrays(ctx: Context) -> Iterator[tuple[Loc, str, str, int]]:
    """(array_size location, Terraform address, job, size) of every array job and array step."""
    for name, job in ctx.platform.jobs.items():
        if job.array_size is not None:
            yield ("jobs", name, "array_size"), job_address(name), name, job.array_size
    for pipeline_name, pipeline in ctx.platform.pipelines.items():
        address = f'module.pipeline["{pipeline_name}"]'
        for step_name, step in pipeline.steps.items():
            if step.array_size is not None and step.job in ctx.platform.jobs:
                yield ("pipelines", pipeline_name, "steps", step_name, "array_size"), address, step.job, step.array_size


def _array_demand(ctx: Context, budget: int) -> Iterator[Check]:
    """Array jobs and array steps whose children together ask for more vCPUs than the budget."""
    for loc, address, job_name, size in _arrays(ctx):
        vcpus = ctx.platform.jobs[job_name].vcpus
        demand = size * vcpus
        if demand > budget:
            yield Check(
                here(ctx, loc),
                address,
                f"{size} children of {vcpus:g} vCPU ({job_name}) ask for {demand:g} vCPUs at once, over the "
                f"environment's budget of {budget}: they can at best run in waves",
            )
        else:
            yield Check(here(ctx, loc), address)


def timeouts(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if job.timeout is None:
            yield Check(("jobs", name), job_address(name), "no timeout: a stuck job holds capacity for 24 h")
        else:
            yield Check(here(ctx, ("jobs", name, "timeout")), job_address(name))


def log_retention(ctx: Context) -> Iterator[Check]:
    # Also Checkov's CKV_AWS_338 (a fixed 1-year floor), which the modules answer with this rule.
    days = ctx.platform.environments[ctx.environment].log_retention_days
    floor = ctx.platform.policy.settings.min_log_retention_days
    loc = here(ctx, ("environments", ctx.environment, "log_retention_days"), ("environments", ctx.environment))
    if days < floor:
        yield Check(
            loc,
            "module.job",
            f"job and flow logs are kept {days} days, under the minimum of {floor} "
            "(policy.settings.min_log_retention_days)",
        )
    else:
        yield Check(loc, "module.job")


RULES: tuple[Rule, ...] = (
    Rule("BP-OPS-001", "Compute max_vcpus within the environment's budget", "medium", vcpu_budget),
    Rule("BP-OPS-002", "Every job has a timeout", "low", timeouts, 1),
    Rule("BP-OPS-003", "Log retention at least policy.settings.min_log_retention_days", "low", log_retention, 1),
)

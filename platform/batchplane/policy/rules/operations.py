"""BP-OPS: capacity within budget, jobs that end, logs kept long enough."""

from __future__ import annotations

from collections.abc import Iterator

from batchplane.policy.rules.context import Check, Context, Rule, here, job_address


def vcpu_budget(ctx: Context) -> Iterator[Check]:
    budget = ctx.platform.environments[ctx.environment].max_vcpus
    total = sum(c.max_vcpus for c in ctx.platform.compute.values())
    loc = ("environments", ctx.environment, "max_vcpus")
    if total > budget:
        yield Check(loc, "module.compute", f"compute may scale to {total} vCPUs, over the budget of {budget}")
    else:
        yield Check(loc, "module.compute")


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

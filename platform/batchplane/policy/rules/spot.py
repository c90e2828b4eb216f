"""BP-SPOT: Spot capacity only where interruptions are survived, with a way back to on-demand."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from batchplane.policy.rules.context import Check, Context, Rule, compute_address, here, job_address, queue_address
from batchplane.spec.jobs import Job

_SPOT_RECLAIM_REASON = "Host EC2 (instance i-0123456789abcdef0) terminated."
"""What AWS Batch reports when Spot capacity is reclaimed."""


def spot_only_interruptible(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        loc = here(ctx, ("jobs", name, "interruptible"), ("jobs", name))
        if ctx.spot_queue(job.queue) and not job.interruptible:
            yield Check(loc, job_address(name), f"queue {job.queue} uses Spot but the job is not interruptible")
        else:
            yield Check(loc, job_address(name))


_ON_DEMAND_OF = {"ec2-spot": "ec2", "fargate-spot": "fargate"}


def on_demand_fallback(ctx: Context) -> Iterator[Check]:
    if not ctx.production:
        return
    for name, queue in ctx.platform.queues.items():
        kinds = [ctx.platform.compute[c].kind for c in queue.compute]
        missing = sorted(
            {
                _ON_DEMAND_OF[kind]
                for i, kind in enumerate(kinds)
                if kind in _ON_DEMAND_OF and _ON_DEMAND_OF[kind] not in kinds[i + 1 :]
            }
        )
        loc = ("queues", name, "compute")
        if missing:
            yield Check(loc, queue_address(name), f"Spot without a later {' / '.join(missing)} compute environment")
        else:
            yield Check(loc, queue_address(name))


def capacity_optimized(ctx: Context) -> Iterator[Check]:
    for name, compute in ctx.platform.compute.items():
        if compute.kind != "ec2-spot":
            continue
        loc = here(ctx, ("compute", name, "allocation_strategy"), ("compute", name))
        strategy = compute.allocation_strategy
        if strategy is not None and not strategy.endswith("CAPACITY_OPTIMIZED"):
            yield Check(loc, compute_address(name), f"{strategy} for Spot: use SPOT_PRICE_CAPACITY_OPTIMIZED")
        else:
            yield Check(loc, compute_address(name))


def bid_under_cap(ctx: Context) -> Iterator[Check]:
    cap = ctx.platform.policy.settings.max_spot_bid_percentage
    for name, compute in ctx.platform.compute.items():
        if compute.kind != "ec2-spot":
            continue
        loc = here(ctx, ("compute", name, "bid_percentage"), ("compute", name))
        bid = compute.bid_percentage if compute.bid_percentage is not None else 100
        if bid > cap:
            yield Check(loc, compute_address(name), f"bid {bid}% of on-demand exceeds the cap of {cap}%")
        else:
            yield Check(loc, compute_address(name))


def _retries_spot_reclaim(job: Job) -> bool:
    if job.retry is None or job.retry.attempts < 2:
        return False
    for rule in job.retry.on_exit:
        if rule.on_exit_code is not None or (rule.on_reason is not None and rule.on_reason != "*"):
            continue  # a reclaimed host reports no exit code and no container reason
        if rule.on_status_reason is None or fnmatch.fnmatchcase(_SPOT_RECLAIM_REASON, rule.on_status_reason):
            return rule.action.lower() == "retry"
    return False


def spot_retries(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if not ctx.spot_queue(job.queue):
            continue
        loc = here(ctx, ("jobs", name, "retry"), ("jobs", name))
        if _retries_spot_reclaim(job):
            yield Check(loc, job_address(name))
        else:
            yield Check(
                loc,
                job_address(name),
                "runs on Spot but does not retry on status reason 'Host EC2*' with at least 2 attempts",
            )


RULES: tuple[Rule, ...] = (
    Rule("BP-SPOT-001", "Spot capacity only for interruptible jobs", "high", spot_only_interruptible),
    Rule("BP-SPOT-002", "Production Spot queues fall back to on-demand", "high", on_demand_fallback),
    Rule("BP-SPOT-003", "Spot allocation strategy is capacity-optimized", "medium", capacity_optimized),
    Rule("BP-SPOT-004", "Spot bid percentage within the cap", "medium", bid_under_cap),
    Rule("BP-SPOT-005", "Spot jobs retry on Host EC2* with at least 2 attempts", "medium", spot_retries, 1),
)

"""What a spec rule sees (one environment) and returns (one check per subject), and where it reports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from batchplane.images.lock import ImageLock
from batchplane.policy.findings import Severity
from batchplane.spec.loader import Spec
from batchplane.spec.locations import Loc
from batchplane.spec.models import Platform


@dataclass(frozen=True)
class Context:
    """One environment as a rule sees it."""

    spec: Spec
    environment: str
    platform: Platform
    lock: ImageLock

    @property
    def production(self) -> bool:
        return self.platform.environments[self.environment].tier == "production"

    def spot_queue(self, queue: str) -> bool:
        return any(self.platform.compute[c].is_spot for c in self.platform.queues[queue].compute)


@dataclass(frozen=True)
class Check:
    """One subject judged by a rule: ``message`` is None when the rule holds."""

    loc: Loc
    address: str
    message: str | None = None
    severity: Severity | None = None


RuleFunction = Callable[[Context], Iterator[Check]]


@dataclass(frozen=True)
class Rule:
    """A rule of the catalogue."""

    id: str
    title: str
    severity: Severity
    check: RuleFunction
    production_raise: int = 0
    """How many levels production tiers raise the severity."""


def job_address(name: str) -> str:
    return f'module.job["{name}"]'


def compute_address(name: str) -> str:
    return f'module.compute["{name}"]'


def queue_address(name: str) -> str:
    return f'module.queue["{name}"]'


def here(ctx: Context, loc: Loc, fallback: Loc | None = None) -> Loc:
    """Where a human edits ``loc`` for this environment: its override, the base, or ``fallback``."""
    override: Loc = ("environments", ctx.environment, "overrides", *loc)
    if ctx.spec.locations.has(override):
        return override
    if fallback is not None and not ctx.spec.locations.has(loc):
        return fallback
    return loc

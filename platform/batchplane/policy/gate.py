"""The policy gate as one core function: spec rules, Checkov, waivers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from batchplane.lock import ImageLock, read_lock
from batchplane.policy import rules
from batchplane.policy.findings import Finding, Outcome
from batchplane.policy.waivers import apply_waivers
from batchplane.spec.loader import Spec


@dataclass(frozen=True)
class Request:
    """What to check."""

    environments: list[str]
    spec_only: bool = False
    plan: Path | None = None
    today: dt.date | None = None
    lock: ImageLock | None = None
    """The image lock to judge (default: the repository's): `promote` checks the lock it would write."""


def run_check(spec: Spec, request: Request) -> Outcome:
    """Every finding of the gate for the requested environments, waivers applied."""
    lock = request.lock if request.lock is not None else read_lock(spec.root)
    outcome = rules.evaluate(spec, request.environments, lock)
    if not request.spec_only:
        from batchplane.policy.checkov_adapter import check  # imports checkov: seconds, so only when needed

        outcome = outcome.merged(check(spec, request.environments, request.plan))
    complete = set(request.environments) == set(spec.environments)
    today = request.today or dt.date.today()
    return apply_waivers(spec, outcome, today, complete=complete, checkov=not request.spec_only)


def unpinned_images(spec: Spec, environment: str) -> list[Finding]:
    """BP-IMG-001 findings of one environment: `plan`/`apply` of it must refuse while any remain.

    Waivers do not apply here: a waiver quiets `check`, it never lets an
    unpinned image into a production environment.
    """
    outcome = rules.evaluate(spec, [environment], read_lock(spec.root))
    return [f for f in outcome.findings if f.id == rules.PINNED_IMAGES_ID]

"""The policy gate as one core function: spec rules, Checkov, waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from batchplane.images.lock import ImageLock, read_lock
from batchplane.policy import rules
from batchplane.policy.findings import Finding, Outcome, PolicyFailedError
from batchplane.policy.rules.images import PINNED_IMAGES_ID
from batchplane.policy.waiver_base import read_base_waivers
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
    base: str | None = None
    """A git revision: waivers added or widened since it are findings (`check --base`)."""


def scan_roots(spec: Spec, environments: list[str]) -> Outcome:
    """Root integrity, then Checkov over the rendered roots: start it early (e.g. while terraform plans), pass it on.

    Integrity (:mod:`batchplane.policy.integrity`) runs first and relies on
    nothing Checkov reads: a root holding files render did not write fails
    whatever Checkov makes of them.
    """
    from batchplane.policy.integrity import check_roots

    intact = check_roots(spec, environments)
    from batchplane.policy.checkov.scan import scan_roots as scan  # imports checkov: seconds

    return intact.merged(scan(spec, environments))


def run_check(spec: Spec, request: Request, *, roots: Outcome | None = None) -> Outcome:
    """Every finding of the gate for the requested environments, waivers applied.

    ``roots``: the Checkov scan of the requested roots, when the caller made it already.
    """
    lock = request.lock if request.lock is not None else read_lock(spec.root)
    outcome = rules.evaluate(spec, request.environments, lock)
    if request.plan is None:
        # Pinning is judged where it matters: `plan`/`apply` of a production tier refuse unpinned
        # images (unpinned_images) and the plan gate reports them. A fresh platform cannot pin
        # before its first build and promote, so a plain `check` does not report BP-IMG-001.
        outcome = replace(outcome, findings=tuple(f for f in outcome.findings if f.id != PINNED_IMAGES_ID))
    if not request.spec_only:
        from batchplane.policy.checkov.scan import scan_plan  # imports checkov: seconds, so only when needed

        scanned = roots if roots is not None else scan_roots(spec, request.environments)
        outcome = outcome.merged(scanned)
        if request.plan is not None:
            outcome = outcome.merged(scan_plan(spec, request.environments[0], request.plan, scanned))
            # Grants ⊆ spec: every IAM-bearing value of the plan against what the spec renders.
            from batchplane.policy.grants import check_plan

            outcome = outcome.merged(check_plan(spec, request.environments[0], request.plan))
    complete = set(request.environments) == set(spec.environments)
    today = request.today or dt.date.today()
    # A waiver's verdict must not depend on which --env was asked for: the spec rules of the other
    # environments (milliseconds) say whether it would accept a critical finding there.
    others = [e for e in spec.environments if e not in request.environments]
    elsewhere = rules.evaluate(spec, others, lock).findings if others else ()
    base = read_base_waivers(spec.path, request.base) if request.base is not None else None
    return apply_waivers(
        spec, outcome, today, complete=complete, checkov=not request.spec_only, elsewhere=elsewhere, base=base
    )


def unpinned_images(spec: Spec, environment: str) -> list[Finding]:
    """BP-IMG-001 findings of one environment: `plan`/`apply` of it must refuse while any remain.

    Waivers do not apply here: a waiver quiets `check`, it never lets an
    unpinned image into a production environment.
    """
    outcome = rules.evaluate(spec, [environment], read_lock(spec.root))
    return [f for f in outcome.findings if f.id == PINNED_IMAGES_ID]


def refuse(
    findings: Sequence[Finding], spec: Spec, message: str, *, error: type[PolicyFailedError] = PolicyFailedError
) -> None:
    """Raise ``error`` (exit 4): ``message``, then one line per finding; nothing when there is none.

    The one way a gate outcome becomes an error (``up``'s check, the plan gate,
    ``promote``, root integrity, unpinned production images), so every refusal
    lists its findings alike: spec line, rule, severity, where, why.
    """
    if not findings:
        return
    lines = []
    for finding in findings:
        where = f"{spec.path.name}:{finding.line}: " if finding.line else ""
        what = finding.spec_path or finding.address
        lines.append(f"  {where}{finding.id} ({finding.severity}) {what}: {finding.message}")
    raise error(f"{message}:\n" + "\n".join(lines))

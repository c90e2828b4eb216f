"""Waivers from the spec: accept a finding for a reason until a date.

A waiver matches findings of its rule id whose spec path is its target or lies
below it. An expired waiver waives nothing and is itself a finding, and so is
one that matches nothing (it would silently waive the next problem there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from batchplane.policy.findings import ALL_ENVIRONMENTS, Finding, Outcome, Passed, Severity
from batchplane.spec.loader import Spec, dotted
from batchplane.spec.models import Waiver

EXPIRED_ID = "BP-POL-001"
UNMATCHED_ID = "BP-POL-002"
TITLES = {
    EXPIRED_ID: "Waivers have not expired",
    UNMATCHED_ID: "Every waiver matches a finding",
}


def covers(target: str, spec_path: str) -> bool:
    """Whether ``spec_path`` is ``target`` or lies below it (``jobs.a`` covers ``jobs.a.access[0]``)."""
    if spec_path == target:
        return True
    if not spec_path.startswith(target):
        return False
    return spec_path[len(target)] in ".["


def matches(waiver: Waiver, finding: Finding) -> bool:
    if waiver.id != finding.id:
        return False
    # A target names the base spec path; findings located in an environment's overrides match it too.
    prefix = f"environments.{finding.environment}.overrides."
    path = finding.spec_path.removeprefix(prefix)
    return covers(waiver.target, finding.spec_path) or covers(waiver.target, path)


def apply_waivers(spec: Spec, outcome: Outcome, today: dt.date, *, complete: bool, checkov: bool) -> Outcome:
    """Mark waived findings and add findings for expired and unmatched waivers.

    Whether a waiver matches nothing is only known after a ``complete`` check
    (every environment); waivers of Checkov ids only when ``checkov`` ran.
    """
    findings = list(outcome.findings)
    extra: list[Finding] = []
    passed: list[Passed] = []
    for index, waiver in enumerate(spec.platform.policy.waivers):
        loc = ("policy", "waivers", index)
        path = dotted(loc)
        hits = [i for i, f in enumerate(findings) if matches(waiver, f)]
        if waiver.expires < today:
            extra.append(
                _finding(
                    spec,
                    EXPIRED_ID,
                    loc,
                    "high",
                    f"waiver of {waiver.id} on {waiver.target} expired on {waiver.expires.isoformat()}",
                )
            )
            continue
        passed.append(Passed(ALL_ENVIRONMENTS, EXPIRED_ID, "", path))
        judged = complete and (checkov or waiver.id.startswith("BP-"))
        if not hits and not judged:
            continue
        if not hits:
            extra.append(
                _finding(spec, UNMATCHED_ID, loc, "low", f"waiver of {waiver.id} on {waiver.target} matches no finding")
            )
            continue
        passed.append(Passed(ALL_ENVIRONMENTS, UNMATCHED_ID, "", path))
        for i in hits:
            if not findings[i].waived:
                findings[i] = findings[i].waive(waiver.reason)
    return replace(
        outcome,
        findings=tuple(sorted(findings + extra)),
        passed=tuple(sorted((*outcome.passed, *passed))),
        rule_titles={**outcome.rule_titles, **TITLES},
    )


def _finding(spec: Spec, rule: str, loc: tuple[str | int, ...], severity: Severity, message: str) -> Finding:
    return Finding(
        environment=ALL_ENVIRONMENTS,
        spec_path=dotted(loc),
        id=rule,
        address="",
        severity=severity,
        line=spec.locations.line(loc),
        message=message,
    )

"""Waivers from the spec: accept a finding, for a reason, briefly, in one place.

A waiver matches findings of its rule id whose spec path is its target or lies
below it. A waiver a reviewer could not trust is refused: it waives nothing
(not even the findings it could otherwise accept, so each waiver has one
verdict) and is a finding of its own, at the waiver's line:

- it has expired (BP-POL-001);
- it expires later than ``policy.settings.max_waiver_days`` from today (BP-POL-003);
- it would accept a critical finding while ``policy.settings.allow_critical_waivers``
  is false: its rule is critical in the catalogue, or a finding it matches is
  critical in any environment, raised by a production tier or not (BP-POL-004);
- its target is not one existing job, queue, compute environment or
  environment, or a path below one (BP-POL-005).

An accepted waiver that matches nothing is a finding too (BP-POL-002): it would
silently waive the next problem there. With a base revision (``check --base``),
a waiver the base did not have, or had narrower or shorter, is a finding
(BP-POL-006) at the severity of what it waives, so the pull request says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

from batchplane.policy.checkov.severity import CRITICAL_CHECKOV_IDS
from batchplane.policy.findings import (
    ALL_ENVIRONMENTS,
    Finding,
    Outcome,
    Passed,
    Severity,
    WaiverStatus,
    severity_rank,
)
from batchplane.policy.rules import RULES
from batchplane.policy.waiver_base import BaseWaivers
from batchplane.spec.loader import Spec
from batchplane.spec.locations import Loc, dotted
from batchplane.spec.models import Waiver

EXPIRED_ID = "BP-POL-001"
UNMATCHED_ID = "BP-POL-002"
LIFETIME_ID = "BP-POL-003"
CRITICAL_ID = "BP-POL-004"
TARGET_ID = "BP-POL-005"
NEW_ID = "BP-POL-006"
TITLES = {
    EXPIRED_ID: "Waivers have not expired",
    UNMATCHED_ID: "Every waiver matches a finding",
    LIFETIME_ID: "Waivers expire within policy.settings.max_waiver_days",
    CRITICAL_ID: "Critical findings are not waived (unless policy.settings.allow_critical_waivers)",
    TARGET_ID: "A waiver targets one existing job, queue, compute environment or environment",
    NEW_ID: "No waiver added or widened since the base revision (check --base)",
}

CRITICAL_PREFIXES = ("BP-TF-", "BP-PLAN-")
"""The gate's own fail-closed families (root integrity and scan, the plan's grants against the spec).

Their findings say the gate itself could not vouch for a root or a plan: no
waiver may quiet them, whatever severity one of them carries."""

_SECTIONS = {"jobs": "job", "queues": "queue", "compute": "compute environment", "environments": "environment"}
_TARGET = re.compile(r"(?P<section>[^.\[\]]*)(?:\.(?P<name>[^.\[\]]*))?(?P<below>.*)", re.DOTALL)
_BELOW = re.compile(r"(?:\.[^.\[\]*?\s]+|\[[0-9]+\])*")
"""What may follow ``<section>.<name>``: keys and list indexes, no wildcard, no empty key."""
_STEP = re.compile(r"\.(?P<key>[^.\[\]]+)|\[(?P<index>[0-9]+)\]")


def covers(target: str, spec_path: str) -> bool:
    """Whether ``spec_path`` is ``target`` or lies below it (``jobs.a`` covers ``jobs.a.access[0]``)."""
    if spec_path == target:
        return True
    if not spec_path.startswith(target):
        return False
    return spec_path[len(target)] in ".["


def matches(waiver: Waiver, finding: Finding) -> bool:
    """Whether ``waiver`` names ``finding``'s rule and covers its spec path."""
    if waiver.id != finding.id:
        return False
    # A target names the base spec path; findings located in an environment's overrides match it too.
    prefix = f"environments.{finding.environment}.overrides."
    path = finding.spec_path.removeprefix(prefix)
    return covers(waiver.target, finding.spec_path) or covers(waiver.target, path)


def critical_in_catalogue(rule_id: str) -> bool:
    """Whether every finding of ``rule_id`` is critical, so its waiver is refused before it matches anything."""
    if rule_id in CRITICAL_CHECKOV_IDS or rule_id.startswith(CRITICAL_PREFIXES):
        return True
    return any(rule.id == rule_id and rule.severity == "critical" for rule in RULES)


def target_problem(spec: Spec, target: str) -> str | None:
    """Why ``target`` is not one existing job, queue, compute environment or environment; None when it is."""
    parts = _TARGET.fullmatch(target)
    section, name, below = (parts["section"], parts["name"], parts["below"]) if parts else ("", None, target)
    if section not in _SECTIONS:
        return f"target {target!r} is not below jobs, queues, compute or environments"
    kind = _SECTIONS[section]
    if name is None or not name or "*" in name or "?" in name:
        return f"target {target!r} covers every {kind}: name one ({section}.<name>)"
    entries: dict[str, object] = getattr(spec.platform, section)
    if name not in entries:
        known = ", ".join(entries) or "none"
        # An unknown name would waive whatever is added under it later, unreviewed.
        return f"target {target!r} names no {kind} {name!r} (the spec has: {known})"
    if not _BELOW.fullmatch(below):
        return f"target {target!r} is not a spec path below {section}.{name}"
    loc: Loc = (section, name)
    for step in _STEP.finditer(below):
        loc = (*loc, step["key"] if step["key"] is not None else int(step["index"]))
    if not spec.locations.has(loc):
        # A path the spec does not spell out waives nothing today and whatever is written there later.
        return f"target {target!r} is not in the spec (below {section}.{name}, name a path platform.yaml has)"
    return None


def apply_waivers(
    spec: Spec,
    outcome: Outcome,
    today: dt.date,
    *,
    complete: bool,
    checkov: bool,
    elsewhere: Sequence[Finding] = (),
    base: BaseWaivers | None = None,
) -> Outcome:
    """Judge every waiver, mark the findings accepted ones waive, add findings for the others.

    Whether a waiver matches nothing is only known after a ``complete`` check
    (every environment); waivers of Checkov ids only when ``checkov`` ran.
    ``elsewhere``: spec-rule findings of environments not checked, so that a
    waiver's severity does not depend on which ``--env`` was asked for.
    ``base``: the waivers at the base revision (``check --base``).
    """
    findings = list(outcome.findings)
    settings = spec.platform.policy.settings
    latest = today + dt.timedelta(days=settings.max_waiver_days)
    extra: list[Finding] = []
    passed: list[Passed] = []
    statuses: list[WaiverStatus] = []
    accepted: list[tuple[Waiver, list[int]]] = []
    for index, waiver in enumerate(spec.platform.policy.waivers):
        loc = ("policy", "waivers", index)
        path = dotted(loc)
        hits = [i for i, f in enumerate(findings) if matches(waiver, f)]
        judged_on = [findings[i] for i in hits] + [f for f in elsewhere if matches(waiver, f)]
        what = f"waiver of {waiver.id} on {waiver.target}"
        refusals: list[tuple[str, Severity, str]] = []
        if waiver.expires < today:
            refusals.append((EXPIRED_ID, "high", f"{what} expired on {waiver.expires.isoformat()}"))
        if waiver.expires > latest:
            refusals.append(
                (
                    LIFETIME_ID,
                    "high",
                    f"{what} expires {waiver.expires.isoformat()}, later than {settings.max_waiver_days} days "
                    f"from today ({latest.isoformat()}, policy.settings.max_waiver_days)",
                )
            )
        problem = target_problem(spec, waiver.target)
        if problem is not None:
            refusals.append((TARGET_ID, "high", f"{what}: {problem}"))
        critical = _critical_reason(waiver, judged_on)
        if critical is not None and not settings.allow_critical_waivers:
            refusals.append((CRITICAL_ID, "critical", f"{what}: {critical}; critical findings cannot be waived here"))
        for rule in (EXPIRED_ID, LIFETIME_ID, TARGET_ID, CRITICAL_ID):
            if rule in {r[0] for r in refusals}:
                continue
            passed.append(Passed(ALL_ENVIRONMENTS, rule, "", path))
        extra += [_finding(spec, rule, loc, severity, message) for rule, severity, message in refusals]
        new = None if base is None else _new_since(waiver, base)
        if base is not None:
            if new is not None:
                extra.append(_finding(spec, NEW_ID, loc, _highest(judged_on), f"{what} {new}"))
            else:
                passed.append(Passed(ALL_ENVIRONMENTS, NEW_ID, "", path))
        status = WaiverStatus(
            index=index,
            id=waiver.id,
            target=waiver.target,
            reason=waiver.reason,
            expires=waiver.expires.isoformat(),
            line=spec.locations.line(loc),
            refused=tuple(message for _, _, message in refusals),
            new_since_base=None if base is None else new is not None,
        )
        statuses.append(status)
        if refusals:
            continue
        accepted.append((waiver, hits))
        judged = complete and (checkov or waiver.id.startswith("BP-"))
        if not hits and judged:
            extra.append(_finding(spec, UNMATCHED_ID, loc, "low", f"{what} matches no finding"))
        elif hits:
            passed.append(Passed(ALL_ENVIRONMENTS, UNMATCHED_ID, "", path))
    for waiver, hits in accepted:
        for i in hits:
            if not findings[i].waived:
                findings[i] = findings[i].waive(waiver.reason)
    statuses = [_with_waived(status, findings, spec) for status in statuses]
    return replace(
        outcome,
        findings=tuple(sorted(findings + extra)),
        passed=tuple(sorted((*outcome.passed, *passed))),
        rule_titles={**outcome.rule_titles, **TITLES},
        waivers=tuple(statuses),
    )


def _critical_reason(waiver: Waiver, judged_on: Sequence[Finding]) -> str | None:
    """Why the waiver would accept a critical finding, or None."""
    if waiver.id.startswith(CRITICAL_PREFIXES):
        families = ", ".join(f"{prefix}*" for prefix in CRITICAL_PREFIXES)
        return f"{waiver.id} is one of the gate's own fail-closed findings ({families})"
    if critical_in_catalogue(waiver.id):
        return f"{waiver.id} is critical"
    critical = sorted({f"{f.environment}:{f.spec_path}" for f in judged_on if f.severity == "critical"})
    if critical:
        return f"it matches critical finding(s) at {', '.join(critical)}"
    return None


def _new_since(waiver: Waiver, base: BaseWaivers) -> str | None:
    """How ``waiver`` is new since the base revision, or None when a base waiver already covered as much as long."""
    same_rule = [b for b in base.waivers if b.id == waiver.id]
    if any(covers(b.target, waiver.target) and b.expires >= waiver.expires for b in same_rule):
        return None
    note = f" ({base.note})" if base.note else ""
    earlier = [b for b in same_rule if b.target == waiver.target]
    if earlier:
        until = max(b.expires for b in earlier).isoformat()
        return f"was extended since {base.ref}: {until} -> {waiver.expires.isoformat()}{note}"
    if same_rule and any(covers(waiver.target, b.target) for b in same_rule):
        return f"was widened since {base.ref}{note}"
    return f"was added since {base.ref}{note}"


def _highest(found: Sequence[Finding]) -> Severity:
    """The severity of what a waiver waives: its worst match, low when it matches nothing."""
    severities: list[Severity] = [f.severity for f in found] or ["low"]
    return max(severities, key=severity_rank)


def _with_waived(status: WaiverStatus, findings: Sequence[Finding], spec: Spec) -> WaiverStatus:
    if status.refused:
        return status
    waiver = spec.platform.policy.waivers[status.index]
    return replace(status, waived=tuple(f for f in findings if f.waived and matches(waiver, f)))


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

"""Report formats of a check: text (rich), json, SARIF 2.1.0 and JUnit XML.

Pure functions from an :class:`Outcome` to text; the command decides where it goes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from itertools import groupby
from typing import TYPE_CHECKING, Literal, get_args

from batchplane import __version__
from batchplane.policy.findings import ALL_ENVIRONMENTS, Finding, Outcome, Severity, WaiverStatus, severity_rank

if TYPE_CHECKING:
    from rich.table import Table

# Rich and ElementTree are imported by the formats that use them: `check --spec-only --format json`
# is a pre-commit hook, and every import is start-up time.

ReportFormat = Literal["text", "json", "sarif", "junit"]
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
"""The words of ``--format``: :func:`render` writes each."""
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/acme/batchplane#policy-catalogue"

_SARIF_LEVEL: dict[Severity, str] = {
    "info": "note",
    "low": "warning",
    "medium": "warning",
    "high": "error",
    "critical": "error",
}
_STYLE: dict[Severity, str] = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}


def render(outcome: Outcome, fmt: str, spec_uri: str) -> str:
    """The report in one of :data:`FORMATS`; ``spec_uri`` locates platform.yaml in SARIF."""
    if fmt == "json":
        return to_json(outcome)
    if fmt == "sarif":
        return json.dumps(to_sarif(outcome, spec_uri), indent=2, sort_keys=True) + "\n"
    if fmt == "junit":
        return to_junit(outcome)
    if fmt == "text":
        return to_text(outcome, width=140)
    raise ValueError(f"unknown format {fmt!r}")


def to_json(outcome: Outcome) -> str:
    """Findings, every waiver with its verdict, and the counts."""
    document = {
        "findings": [f.as_dict() for f in outcome.findings],
        "waivers": [w.as_dict() for w in outcome.waivers],
        "summary": outcome.summary(),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- SARIF ----------------------------------------------------------------------


def _rule_ids(outcome: Outcome) -> list[str]:
    return sorted({f.id for f in outcome.findings} | {p.id for p in outcome.passed})


def to_sarif(outcome: Outcome, spec_uri: str) -> dict[str, object]:
    """A SARIF 2.1.0 log: one run, results located at the spec line that caused them."""
    rule_ids = _rule_ids(outcome)
    index = {rule: i for i, rule in enumerate(rule_ids)}
    worst: dict[str, Severity] = {}
    for finding in outcome.findings:
        if finding.id not in worst or severity_rank(finding.severity) > severity_rank(worst[finding.id]):
            worst[finding.id] = finding.severity
    rules = [
        {
            "id": rule,
            "name": rule.replace("-", ""),
            "shortDescription": {"text": outcome.rule_titles.get(rule, rule)},
            "helpUri": INFORMATION_URI,
            "defaultConfiguration": {"level": _SARIF_LEVEL[worst.get(rule, "low")]},
        }
        for rule in rule_ids
    ]
    results = [_sarif_result(f, index[f.id], spec_uri) for f in outcome.findings]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "batchplane",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"description": {"text": "The platform repository."}}},
                "results": results,
            }
        ],
    }


def _sarif_result(finding: Finding, rule_index: int, spec_uri: str) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": {"uri": spec_uri, "uriBaseId": "SRCROOT"}}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, object] = {"physicalLocation": physical}
    if finding.address:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.address, "kind": "resource"}]
    result: dict[str, object] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": f"[{finding.environment}] {finding.spec_path}: {finding.message}"},
        "locations": [location],
        "partialFingerprints": {"batchplane/v1": f"{finding.id}|{finding.environment}|{finding.spec_path}"},
        "properties": {
            "environment": finding.environment,
            "severity": finding.severity,
            "spec_path": finding.spec_path,
        },
    }
    if finding.waived:
        result["suppressions"] = [{"kind": "external", "justification": finding.waiver_reason or "waived"}]
    return result


# --- JUnit ----------------------------------------------------------------------


def to_junit(outcome: Outcome) -> str:
    """JUnit XML: a suite per environment, a test case per rule x resource."""
    import xml.etree.ElementTree as ET

    cases: list[tuple[str, str, str, str, Finding | None]] = [
        (p.environment, p.id, p.address, p.spec_path, None) for p in outcome.passed
    ]
    cases += [(f.environment, f.id, f.address, f.spec_path, f) for f in outcome.findings]
    cases.sort(key=lambda c: (c[0], c[1], c[2], c[3]))
    root = ET.Element("testsuites", name="batchplane check")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for environment, group in groupby(cases, key=lambda c: c[0]):
        members = list(group)
        suite = ET.SubElement(root, "testsuite", name=_suite_name(environment))
        counts = {"tests": len(members), "failures": 0, "skipped": 0}
        for _, rule, address, spec_path, finding in members:
            name = f"{rule} {address or spec_path}".strip()
            case = ET.SubElement(suite, "testcase", classname=f"{_suite_name(environment)}.{rule}", name=name)
            if finding is None:
                continue
            if finding.waived:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"waived: {finding.waiver_reason or ''}".strip())
            else:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=finding.message, type=finding.severity)
                failure.text = f"{finding.spec_path} (platform.yaml line {finding.line}): {finding.message}"
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite_name(environment: str) -> str:
    return "spec" if environment == ALL_ENVIRONMENTS else environment


# --- text -----------------------------------------------------------------------


def tables(outcome: Outcome) -> Iterable[Table]:
    """A rich table of findings per environment, then one of the spec's waivers."""
    from rich.table import Table

    for environment, group in groupby(outcome.findings, key=lambda f: f.environment):
        table = Table(title=f"{_suite_name(environment)}", title_justify="left")
        for column in ("severity", "rule", "spec", "address", "message"):
            table.add_column(column, overflow="fold")
        for finding in sorted(group, key=lambda f: (-severity_rank(f.severity), f.id, f.spec_path)):
            where = f"{finding.spec_path}:{finding.line}" if finding.line else finding.spec_path
            severity = f"[{_STYLE[finding.severity]}]{finding.severity}[/]"
            if finding.waived:
                severity = f"[dim]waived ({finding.severity})[/]"
            table.add_row(severity, finding.id, where, finding.address, finding.message)
        yield table
    if outcome.waivers:
        yield _waiver_table(outcome.waivers)


def _waiver_table(waivers: Iterable[WaiverStatus]) -> Table:
    """Each waiver with its reason and expiry, and what it waived or why it was refused: what a reviewer reads."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="waivers", title_justify="left")
    for column in ("status", "rule", "target", "expires", "reason", "waiver"):
        table.add_column(column, overflow="fold")
    for waiver in waivers:
        where = f"policy.waivers[{waiver.index}]" + (f":{waiver.line}" if waiver.line else "")
        status = "[bold red]refused[/]" if waiver.refused else f"accepted ({len(waiver.waived)} waived)"
        if waiver.new_since_base:
            status += " [yellow]new[/]"
        # Reasons are the spec author's text: never markup.
        table.add_row(status, waiver.id, escape(waiver.target), waiver.expires, escape(waiver.reason), where)
    return table


def summary_line(outcome: Outcome) -> str:
    counts = outcome.summary()
    return f"{counts['failed']} failed, {counts['waived']} waived, {counts['passed']} passed"


def to_text(outcome: Outcome, *, width: int) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, highlight=False, soft_wrap=False)
    for table in tables(outcome):
        console.print(table)
    console.print(summary_line(outcome), markup=False)
    return buffer.getvalue()

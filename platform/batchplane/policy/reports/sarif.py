"""SARIF 2.1.0 for code scanning: results at the spec line, rules rated like GitHub rates them.

Each rule carries ``security-severity`` (GitHub's 0-10 scale: over 9 is critical, 7-8.9
high, 4-6.9 medium, below 4 low) from batchplane's severity, a level (critical and high
are errors), help text, and a help URI when the caller knows one (the policy catalogue
in the repository's README). Results are folded across environments like the text
report: one result per finding, the environments in its message and properties.
"""

from __future__ import annotations

from batchplane import __version__
from batchplane.policy.findings import Outcome, Severity, severity_rank
from batchplane.policy.reports import Row, rows

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

LEVEL: dict[Severity, str] = {"info": "note", "low": "note", "medium": "warning", "high": "error", "critical": "error"}
SECURITY_SEVERITY: dict[Severity, str] = {
    "info": "1.0",
    "low": "3.0",
    "medium": "5.5",
    "high": "8.0",
    "critical": "9.5",
}


def rule_severity(outcome: Outcome, rule: str) -> Severity:
    """The rule's rating: the worst it reported in this run, else what the catalogue declares.

    A rule's findings can be raised above its declared severity (a production
    environment, an IAM risk), and code scanning rates the rule, not each result, so
    the worst one counts. Checkov checks the catalogue does not rate are medium.
    """
    severities = [f.severity for f in outcome.findings if f.id == rule]
    if severities:
        return max(severities, key=severity_rank)
    return outcome.rule_severities.get(rule, "medium")


def _rule(outcome: Outcome, rule: str, help_uri: str | None) -> dict[str, object]:
    severity = rule_severity(outcome, rule)
    title = outcome.rule_titles.get(rule, rule)
    where = f" The policy catalogue explains it and how to waive it: {help_uri}" if help_uri else ""
    entry: dict[str, object] = {
        "id": rule,
        "name": rule.replace("-", "").replace("_", ""),
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title} ({severity})."},
        "help": {
            "text": f"{rule}: {title}. Severity {severity}.{where}",
            "markdown": f"**{rule}**: {title}. Severity *{severity}*."
            + (f" See the [policy catalogue]({help_uri})." if help_uri else ""),
        },
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity], "tags": ["security", "batchplane"]},
    }
    if help_uri:
        entry["helpUri"] = help_uri
    return entry


def to_sarif(outcome: Outcome, spec_uri: str, help_uri: str | None = None) -> dict[str, object]:
    """A SARIF 2.1.0 log: one run, results located at the spec line that caused them."""
    rule_ids = sorted({f.id for f in outcome.findings} | {p.id for p in outcome.passed})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    driver: dict[str, object] = {
        "name": "batchplane",
        "version": __version__,
        "rules": [_rule(outcome, rule, help_uri) for rule in rule_ids],
    }
    if help_uri:
        driver["informationUri"] = help_uri
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {"SRCROOT": {"description": {"text": "The root of the repository."}}},
                "results": [_result(row, index[row.first.id], spec_uri) for row in rows(outcome, show_waived=True)],
            }
        ],
    }


def _result(row: Row, rule_index: int, spec_uri: str) -> dict[str, object]:
    finding = row.first
    physical: dict[str, object] = {"artifactLocation": {"uri": spec_uri, "uriBaseId": "SRCROOT"}}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, object] = {"physicalLocation": physical}
    if finding.address:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.address, "kind": "resource"}]
    result: dict[str, object] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": f"{row.where}: {finding.message}"},
        "locations": [location],
        "partialFingerprints": {"batchplane/v2": f"{finding.id}|{finding.spec_path}|{finding.address}"},
        "properties": {
            "environments": list(row.environments),
            "severity": finding.severity,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "spec_path": finding.spec_path,
        },
    }
    if finding.waived:
        result["suppressions"] = [{"kind": "external", "justification": finding.waiver_reason or "waived"}]
    return result

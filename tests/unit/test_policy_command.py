"""`batchplane check --spec-only` as a user runs it: output and exit codes (speed: benchmarks/check.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.check import check
from batchplane.policy.findings import SEVERITIES
from batchplane.policy.reports import FORMATS
from tests.conftest import EXAMPLE_SPEC
from tests.unit.policy_support import write_spec

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.command()(check)

    @app.callback()
    def _main() -> None:
        """Registered like cli.py does."""

    return app


def test_the_example_passes_the_spec_rules() -> None:
    result = runner.invoke(_app(), ["check", "--spec-only", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.stdout


def test_an_unwaived_finding_exits_4(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, breaks=True)
    result = runner.invoke(_app(), ["check", "--spec-only", "--env", "dev", "--spec", str(spec)])
    assert result.exit_code == 4


def test_json_lists_the_rule_and_its_spec_path(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, breaks=True)
    result = runner.invoke(_app(), ["check", "--spec-only", "-e", "dev", "--format", "json", "--spec", str(spec)])
    findings = json.loads(result.stdout)["findings"]
    assert [(f["id"], f["spec_path"]) for f in findings] == [("BP-IAM-004", "jobs.ingest.statements[0]")]


def test_fail_on_above_the_finding_exits_0(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, breaks=False)
    doc = yaml.safe_load(spec.read_text())
    del doc["jobs"]["ingest"]["timeout"]  # a low finding in dev
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(_app(), ["check", "--spec-only", "-e", "dev", "--fail-on", "medium", "--spec", str(spec)])
    assert result.exit_code == 0, result.output


def test_the_options_choices_are_the_policys_severities_and_formats() -> None:
    hints = get_type_hints(check, include_extras=True)
    assert get_args(get_args(hints["fail_on"])[0]) == SEVERITIES
    assert get_args(get_args(hints["fmt"])[0]) == FORMATS


@pytest.mark.parametrize(("option", "value"), [*(("--fail-on", s) for s in SEVERITIES), *(("-f", f) for f in FORMATS)])
def test_every_word_of_the_vocabulary_is_accepted(option: str, value: str) -> None:
    result = runner.invoke(_app(), ["check", "--spec-only", option, value, "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("option", "value"), [("--fail-on", "severe"), ("-f", "html"), ("--fail-on", "High")])
def test_a_word_outside_the_vocabulary_is_a_usage_error(option: str, value: str) -> None:
    result = runner.invoke(_app(), ["check", "--spec-only", option, value, "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 2


def test_an_invalid_spec_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("version: 1\nname: Bad Name\n")
    result = runner.invoke(_app(), ["check", "--spec-only", "--spec", str(path)])
    assert result.exit_code == 3


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    result = runner.invoke(
        _app(), ["check", "--spec-only", "-f", "sarif", "-o", str(target), "--spec", str(EXAMPLE_SPEC)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_an_unknown_environment_is_a_usage_error() -> None:
    result = runner.invoke(_app(), ["check", "--spec-only", "--env", "staging", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 2


def test_a_plan_needs_exactly_one_environment(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    result = runner.invoke(_app(), ["check", "--plan", str(plan), "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 2


# --- waivers a reviewer can trust (bypass attempts: each must exit 4 at the waiver's line) ---------------


def _with_waivers(tmp_path: Path, *waivers: dict[str, Any], breaks: bool = True, **settings: object) -> Path:
    """The small spec (with iam:PassRole on *, BP-IAM-004, unless not ``breaks``) and these waivers."""
    spec = write_spec(tmp_path, breaks=breaks)
    doc = yaml.safe_load(spec.read_text())
    doc["environments"]["dev"]["log_retention_days"] = 30  # above the default floor: no BP-OPS-003 in the way
    if not breaks:
        del doc["jobs"]["ingest"]["timeout"]  # BP-OPS-002 at jobs.ingest: low, medium in prod
    doc["policy"] = {"waivers": list(waivers), "settings": settings}
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return spec


def _json_check(spec: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(_app(), ["check", "--spec-only", "--format", "json", "--spec", str(spec)])
    document: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, document


def _line_of(spec: Path, text: str) -> int:
    return spec.read_text().splitlines().index(text) + 1


SOON = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def test_the_issues_waiver_of_a_critical_finding_for_all_jobs_until_2099_is_refused(tmp_path: Path) -> None:
    spec = _with_waivers(tmp_path, {"id": "BP-IAM-004", "target": "jobs", "reason": "tmp", "expires": "2099-12-31"})
    code, document = _json_check(spec)
    line = _line_of(spec, "  - id: BP-IAM-004")
    assert code == 4
    assert sorted((f["id"], f["line"]) for f in document["findings"] if f["id"].startswith("BP-POL")) == [
        ("BP-POL-003", line),
        ("BP-POL-004", line),
        ("BP-POL-005", line),
    ]


def test_the_critical_finding_the_issues_waiver_aimed_at_stays_unwaived_and_visible(tmp_path: Path) -> None:
    spec = _with_waivers(tmp_path, {"id": "BP-IAM-004", "target": "jobs", "reason": "tmp", "expires": "2099-12-31"})
    _, document = _json_check(spec)
    assert [(f["environment"], f["waived"]) for f in document["findings"] if f["id"] == "BP-IAM-004"] == [
        ("dev", False),
        ("prod", False),
    ]
    assert [(w["status"], w["reason"], w["expires"]) for w in document["waivers"]] == [("refused", "tmp", "2099-12-31")]


def test_a_critical_waiver_within_its_lifetime_is_still_refused_by_default(tmp_path: Path) -> None:
    spec = _with_waivers(tmp_path, {"id": "BP-IAM-004", "target": "jobs.ingest", "reason": "PLAT-9", "expires": SOON})
    code, document = _json_check(spec)
    assert code == 4
    assert [(f["severity"], f["line"]) for f in document["findings"] if f["id"] == "BP-POL-004"] == [
        ("critical", _line_of(spec, "  - id: BP-IAM-004"))
    ]


def test_an_over_long_waiver_is_refused(tmp_path: Path) -> None:
    late = (dt.date.today() + dt.timedelta(days=91)).isoformat()
    spec = _with_waivers(
        tmp_path, {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "PLAT-9", "expires": late}, breaks=False
    )
    code, document = _json_check(spec)
    assert code == 4
    assert [f["line"] for f in document["findings"] if f["id"] == "BP-POL-003"] == [
        _line_of(spec, "  - id: BP-OPS-002")
    ]
    assert document["summary"]["waived"] == 0


def test_a_section_wide_waiver_is_refused(tmp_path: Path) -> None:
    spec = _with_waivers(
        tmp_path, {"id": "BP-OPS-002", "target": "jobs", "reason": "PLAT-9", "expires": SOON}, breaks=False
    )
    code, document = _json_check(spec)
    assert code == 4
    assert [f["line"] for f in document["findings"] if f["id"] == "BP-POL-005"] == [
        _line_of(spec, "  - id: BP-OPS-002")
    ]
    assert document["summary"]["waived"] == 0


def test_a_waiver_of_an_entry_the_spec_does_not_have_is_refused(tmp_path: Path) -> None:
    spec = _with_waivers(
        tmp_path, {"id": "BP-OPS-002", "target": "jobs.ingest2", "reason": "PLAT-9", "expires": SOON}, breaks=False
    )
    code, document = _json_check(spec)
    assert code == 4
    assert [f["id"] for f in document["findings"] if f["id"].startswith("BP-POL")] == ["BP-POL-005"]


def test_an_allowed_critical_waiver_within_its_lifetime_waives_and_is_listed(tmp_path: Path) -> None:
    waiver = {"id": "BP-IAM-004", "target": "jobs.ingest", "reason": "PLAT-9 until the role split", "expires": SOON}
    spec = _with_waivers(tmp_path, waiver, allow_critical_waivers=True)
    code, document = _json_check(spec)
    assert code == 0
    assert [f["waived"] for f in document["findings"]] == [True, True]
    assert [(w["status"], w["reason"], w["expires"], len(w["waived"])) for w in document["waivers"]] == [
        ("accepted", "PLAT-9 until the role split", SOON, 2)
    ]


def test_a_correct_waiver_passes_and_json_lists_it(tmp_path: Path) -> None:
    waiver = {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "batch window; PLAT-7", "expires": SOON}
    spec = _with_waivers(tmp_path, waiver, breaks=False)
    code, document = _json_check(spec)
    assert code == 0
    assert document["waivers"] == [
        {
            "id": "BP-OPS-002",
            "target": "jobs.ingest",
            "reason": "batch window; PLAT-7",
            "expires": SOON,
            "line": _line_of(spec, "  - id: BP-OPS-002"),
            "status": "accepted",
            "refused_because": [],
            "waived": [
                {"id": "BP-OPS-002", "environment": "dev", "spec_path": "jobs.ingest", "severity": "low"},
                {"id": "BP-OPS-002", "environment": "prod", "spec_path": "jobs.ingest", "severity": "medium"},
            ],
            "new_since_base": None,
        }
    ]


def test_a_correct_waiver_is_listed_with_reason_and_expiry_in_the_text_report(tmp_path: Path) -> None:
    waiver = {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "batch window; PLAT-7", "expires": SOON}
    spec = _with_waivers(tmp_path, waiver, breaks=False)
    report = tmp_path / "report.txt"
    result = runner.invoke(_app(), ["check", "--spec-only", "-o", str(report), "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in report.read_text().splitlines() if "batch window; PLAT-7" in line]
    assert "accepted (2 waived)" in row
    assert SOON in row
    assert "jobs.ingest" in row

"""`batchplane check --spec-only` as a user runs it: output and exit codes (speed: benchmarks/check.py)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli import _Group
from batchplane.policy.command import check
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

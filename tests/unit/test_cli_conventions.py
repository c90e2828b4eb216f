"""One way everywhere: --json for results, --output for reports, --quiet for stderr, Terraform-familiar names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane import console
from batchplane.cli.app import app
from tests.conftest import copy_example
from tests.unit.cli_tree import leaves, long_flags

runner = CliRunner()

# Commands whose result is a document in a format of their own: they choose it with --format.
DOCUMENTS = {("check",), ("graph",), ("schema",)}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copied = copy_example(tmp_path)
    monkeypatch.chdir(copied)
    return copied


def test_every_command_with_a_result_has_json() -> None:
    without = [" ".join(path) for path, command in leaves().items() if "--json" not in long_flags(command.params)]
    assert sorted(without) == sorted(" ".join(path) for path in DOCUMENTS)


def test_every_report_or_picture_can_go_to_a_file() -> None:
    for path in [*DOCUMENTS, ("diff",)]:
        command = leaves()[path]
        option = next(p for p in command.params if "--output" in p.opts)
        assert option.opts == ["--output", "-o"], path
        assert option.metavar == "FILE", path


def test_diff_writes_its_report_to_output_without_styles(repo: Path) -> None:
    shown = runner.invoke(app, ["diff", "--from", "dev", "--to", "prod"])
    written = runner.invoke(app, ["diff", "--from", "dev", "--to", "prod", "--output", "dev-prod.diff"])
    assert shown.exit_code == written.exit_code == 0, written.output
    report = (repo / "dev-prod.diff").read_text(encoding="utf-8")
    assert report == shown.stdout
    assert "\x1b" not in report
    assert report.startswith("dev (")
    assert written.stdout == ""
    assert "wrote dev-prod.diff" in written.stderr


def test_diff_writes_json_to_output(repo: Path) -> None:
    written = runner.invoke(app, ["diff", "--from", "dev", "--to", "prod", "--json", "-o", "diff.json"])
    assert written.exit_code == 0, written.output
    document = json.loads((repo / "diff.json").read_text(encoding="utf-8"))
    assert document == json.loads(runner.invoke(app, ["diff", "--from", "dev", "--to", "prod", "--json"]).stdout)


def test_quiet_silences_notes_not_results(repo: Path) -> None:
    loud = runner.invoke(app, ["render", "--check"])
    quiet = runner.invoke(app, ["--quiet", "render", "--check"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "rendered" in loud.stderr
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


def test_quiet_keeps_errors(repo: Path) -> None:
    failed = runner.invoke(app, ["--quiet", "validate", "--spec", "missing.yaml"])
    assert failed.exit_code == 3
    assert "error:" in failed.stderr


def test_apply_plans_first_only_when_asked_by_a_name_that_says_so() -> None:
    apply = leaves()[("apply",)]
    assert "--plan-if-missing" in long_flags(apply.params)
    assert "--auto-approve" not in long_flags(apply.params)  # Terraform's means "do not ask", not "plan first"


@pytest.mark.parametrize(
    ("path", "default"),
    [
        (("plan",), "default: every root"),
        (("apply",), "required"),
        (("output",), "required"),
        (("check",), "default: all"),
    ],
)
def test_env_help_tells_the_truth_per_command(path: tuple[str, ...], default: str) -> None:
    env = next(p for p in leaves()[path].params if "--env" in p.opts)
    assert default in (env.help or "")


def test_completion_is_offered_and_answers() -> None:
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="batchplane")
    assert shown.exit_code == 0
    assert "_batchplane_completion" in shown.stdout
    assert "\x1b" not in shown.stdout
    answered = runner.invoke(
        app,
        [],
        prog_name="batchplane",
        env={"_BATCHPLANE_COMPLETE": "complete_bash", "COMP_WORDS": "batchplane jobs s", "COMP_CWORD": "2"},
    )
    assert answered.stdout.split() == ["submit", "status"]


def test_quiet_lasts_one_command_line(repo: Path) -> None:
    """Tests and other callers run many command lines in one process: notes afterwards still print."""
    assert runner.invoke(app, ["--quiet", "render", "--check"]).exit_code == 0
    assert not console.settings.quiet
    assert console.settings.progress

"""The `batchplane` executable's fast path for `check --spec-only` (the pre-commit hook).

It must answer exactly as the full command line does (same stdout, same exit
code) while loading neither Typer nor, for machine formats, Rich; and it must
hand everything it does not understand to the full command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli import entry
from batchplane.cli.app import app
from tests.conftest import EXAMPLE_SPEC
from tests.unit.policy_support import write_spec

runner = CliRunner()


def _fast(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the executable's main()."""
    monkeypatch.setattr(sys, "argv", ["batchplane", *argv])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    code = stopped.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--spec-only"], entry.SpecOnlyCheck()),
        (
            ["check", "--spec-only", "--spec", "p.yaml", "-e", "dev", "--env=prod", "-ftext", "--format", "sarif"],
            entry.SpecOnlyCheck(spec=Path("p.yaml"), envs=["dev", "prod"], fmt="sarif"),
        ),
        (
            ["check", "-o", "r.xml", "--fail-on=high", "--spec-only", "-f", "junit"],
            entry.SpecOnlyCheck(output=Path("r.xml"), fmt="junit", fail_on="high"),
        ),
        (["check", "--spec-only", "--base", "origin/main"], entry.SpecOnlyCheck(base="origin/main")),
        (["check", "--base=HEAD~1", "--spec-only"], entry.SpecOnlyCheck(base="HEAD~1")),
    ],
)
def test_the_plain_forms_of_checks_options_are_understood(argv: list[str], expected: entry.SpecOnlyCheck) -> None:
    assert entry.parse_spec_only_check(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["check"],  # Checkov too: not the fast path's job
        ["validate", "--spec-only"],
        ["--debug", "check", "--spec-only"],
        ["check", "--spec-only", "--help"],
        ["check", "--spec-only", "--plan", "plan.json", "-e", "dev"],
        ["check", "--spec-only", "--format", "yaml"],
        ["check", "--spec-only", "--fail-on", "severe"],
        ["check", "--spec-only", "--env"],
        ["check", "--spec-only", "--env", "--format"],
        ["check", "--spec-only", "--output="],
        ["check", "--spec-only", "--base"],
        ["check", "--spec-only", "--base", "--format", "json"],
        ["check", "--spec-only", "extra"],
    ],
)
def test_anything_else_goes_to_the_full_command_line(argv: list[str]) -> None:
    assert entry.parse_spec_only_check(argv) is None


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--format", "json"],
        ["--format", "sarif", "--env", "prod"],
        ["-f", "junit", "-e", "dev", "-e", "test"],
        ["--fail-on", "info"],
    ],
)
def test_the_fast_path_prints_what_the_full_command_prints(
    extra: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["check", "--spec-only", "--spec", str(EXAMPLE_SPEC), *extra]
    full = runner.invoke(app, argv)
    code, out, _ = _fast(argv, capsys, monkeypatch)
    assert (code, out) == (full.exit_code, full.stdout)
    assert out  # a report, not silence


def test_findings_fail_the_fast_path_as_they_fail_the_full_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["check", "--spec-only", "--format", "json", "--spec", str(write_spec(tmp_path, breaks=True))]
    full = runner.invoke(app, argv)
    code, out, _ = _fast(argv, capsys, monkeypatch)
    assert code == full.exit_code == 4
    assert out == full.stdout
    assert "BP-IAM-004" in {f["id"] for f in json.loads(out)["findings"]}


def test_an_invalid_spec_is_exit_3_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("version: 1\nname: Bad Name\n")
    code, _, err = _fast(["check", "--spec-only", "--spec", str(path)], capsys, monkeypatch)
    assert code == 3
    assert "platform.yaml:2" in " ".join(err.split())


def test_an_unknown_environment_is_worded_by_the_full_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _fast(["check", "--spec-only", "-e", "staging", "--spec", str(EXAMPLE_SPEC)], capsys, monkeypatch)
    assert code == 2
    assert "the spec has: dev, test, prod" in err


def test_an_output_into_a_missing_folder_is_a_usage_error_not_a_bug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "no" / "such" / "report.sarif"
    code, _, err = _fast(
        ["check", "--spec-only", "-f", "sarif", "-o", str(target), "--spec", str(EXAMPLE_SPEC)], capsys, monkeypatch
    )
    assert code == 2
    assert "does not exist" in err
    assert not target.parent.exists()


def test_the_hook_loads_neither_typer_nor_rich() -> None:
    """What makes it fast, checked by what is imported rather than by a stopwatch."""
    probe = (
        "import sys\n"
        "from batchplane.cli import entry\n"
        f"sys.argv = ['batchplane', 'check', '--spec-only', '--format', 'json', '--spec', {str(EXAMPLE_SPEC)!r}]\n"
        "try:\n    entry.main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "loaded = sorted(m for m in ('typer', 'click', 'rich', 'jinja2', 'boto3', 'checkov') if m in sys.modules)\n"
        "print(code, loaded, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "0 []"
    assert json.loads(result.stdout)["summary"]["failed"] == 0


def test_the_fast_path_knows_every_valued_option_of_check_but_plan() -> None:
    """A new option of `check` must be taught to the fast path (or it would fall back forever)."""
    import typer.main

    command = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    declared = {opt for param in command.params if param.name not in {"plan", "spec_only"} for opt in param.opts}
    assert declared == set(entry._OPTIONS) | set(entry._FLAGS)

"""JSON mode fails in JSON: one ``{"error": {...}}`` document on stdout, the text-mode exit code, the message on stderr.

Consumers of ``--json`` / ``--format json`` parse stdout; a failure that printed
nothing there handed them empty input.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchplane import console
from batchplane.cli import entry
from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.layout import LOCK_FILE
from tests.conftest import EXAMPLE_SPEC
from tests.unit.policy_support import write_spec

runner = CliRunner()


def _both(argv: list[str], json_flag: list[str]) -> tuple[int, dict[str, Any], str, int]:
    """JSON mode's exit code, its parsed stdout and stderr; and text mode's exit code."""
    as_json = runner.invoke(app, [*argv, *json_flag])
    as_text = runner.invoke(app, argv)
    assert as_text.stdout.strip() == "" or not as_text.stdout.lstrip().startswith("{")
    return as_json.exit_code, json.loads(as_json.stdout), " ".join(as_json.stderr.split()), as_text.exit_code


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    target = tmp_path / "platform.yaml"
    shutil.copy2(EXAMPLE_SPEC, target)
    return target


@pytest.fixture
def invalid_spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text("version: 1\nname: Bad Name\n")
    return path


def test_a_spec_error_is_a_document_with_its_problems(invalid_spec: Path) -> None:
    code, document, stderr, text_code = _both(["render", "--spec", str(invalid_spec)], ["--json"])
    assert code == text_code == ExitCode.SPEC_INVALID
    error = document["error"]
    assert (error["code"], error["kind"], error["file"]) == (3, "spec_invalid", invalid_spec.name)
    assert {(p["file"], p["line"]) for p in error["problems"]} >= {(invalid_spec.name, 2)}
    assert f"{invalid_spec.name}:2" in stderr


def test_validate_answers_with_its_own_verdict_once(invalid_spec: Path) -> None:
    code, document, _, text_code = _both(["validate", "--spec", str(invalid_spec)], ["--json"])
    assert code == text_code == ExitCode.SPEC_INVALID
    assert set(document) == {"valid", "problems"}
    assert document["valid"] is False


def test_check_spec_only_on_an_invalid_spec_answers_in_json(invalid_spec: Path) -> None:
    argv = ["check", "--spec-only", "--spec", str(invalid_spec)]
    code, document, _, text_code = _both(argv, ["--format", "json"])
    assert code == text_code == ExitCode.SPEC_INVALID
    assert document["error"]["kind"] == "spec_invalid"


def test_a_policy_failure_is_one_document_the_report_and_the_error(tmp_path: Path) -> None:
    argv = ["check", "--spec-only", "--spec", str(write_spec(tmp_path, breaks=True))]
    code, document, stderr, text_code = _both(argv, ["--format=json"])
    assert code == text_code == ExitCode.POLICY_FAILED
    assert "BP-IAM-004" in {f["id"] for f in document["findings"]}
    assert (document["error"]["code"], document["error"]["kind"]) == (4, "policy_failed")
    assert "unwaived finding" in stderr


def test_a_passing_report_carries_no_error() -> None:
    result = runner.invoke(
        app, ["check", "--spec-only", "--spec", str(EXAMPLE_SPEC), "-f", "json", "--fail-on", "critical"]
    )
    assert result.exit_code == 0
    assert "error" not in json.loads(result.stdout)


def _fast(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["batchplane", *argv])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    code = stopped.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().out


@pytest.mark.parametrize("breaks", [True, False], ids=["policy-failure", "spec-error"])
def test_the_pre_commit_fast_path_prints_the_same_error_document(
    breaks: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_spec(tmp_path, breaks=True) if breaks else tmp_path / "platform.yaml"
    if not breaks:
        path.write_text("version: 1\nname: Bad Name\n")
    argv = ["check", "--spec-only", "--format", "json", "--spec", str(path)]
    full = runner.invoke(app, argv)
    code, out = _fast(argv, capsys, monkeypatch)
    assert (code, out) == (full.exit_code, full.stdout)
    assert json.loads(out)["error"]["code"] == code


def test_a_tool_failure_is_exit_5_in_json(spec: Path) -> None:
    code, document, stderr, text_code = _both(["plan", "--local", "--env", "dev", "--spec", str(spec)], ["--json"])
    assert code == text_code == ExitCode.TOOL_FAILED
    assert document["error"]["kind"] == "tool_failed"
    assert "local AWS" in document["error"]["message"]
    assert "local AWS" in stderr


def test_a_corrupt_state_file_is_located_in_json(spec: Path) -> None:
    lock = spec.parent / LOCK_FILE
    lock.write_text('{\n  "version": 1,\n  "images": [\n')
    code, document, _, text_code = _both(["render", "--spec", str(spec)], ["--json"])
    assert code == text_code == ExitCode.SPEC_INVALID
    error = document["error"]
    assert (error["kind"], error["file"], error["line"]) == ("spec_invalid", str(lock), 4)
    assert error["expected"].startswith("expected JSON")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["validate", "--no-such-option"], id="unknown-option"),
        pytest.param(["render", "--env", "prd"], id="bad-value"),
        pytest.param(["no-such-command"], id="unknown-command"),
    ],
)
def test_a_usage_error_is_exit_2_in_json(argv: list[str], spec: Path) -> None:
    code, document, stderr, text_code = _both([*argv, "--spec", str(spec)], ["--json"])
    assert code == text_code == ExitCode.USAGE
    assert (document["error"]["code"], document["error"]["kind"]) == (2, "usage")
    assert document["error"]["message"]
    assert "Usage:" in stderr


def test_a_bug_is_exit_1_in_json_without_a_traceback(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("batchplane.cli.spec.load", broken)
    code, document, stderr, text_code = _both(["validate", "--spec", str(spec)], ["--json"])
    assert code == text_code == ExitCode.UNEXPECTED
    assert document["error"] == {"code": 1, "kind": "unexpected", "message": "boom", "type": "RuntimeError"}
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--json"], True),
        (["check", "--format", "json"], True),
        (["check", "-f", "json"], True),
        (["check", "--format=json"], True),
        (["check", "-fjson"], True),
        (["check", "--format", "sarif"], False),
        (["validate"], False),
        (["jobs", "run", "--", "--json"], False),
    ],
)
def test_json_mode_is_read_from_the_raw_command_line(argv: list[str], expected: bool) -> None:
    assert console.json_requested(argv) is expected

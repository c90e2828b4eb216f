"""`check --base REF`: a waiver added since a git revision is a finding of its own, on a real git repository."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli import entry
from batchplane.cli.app import app
from batchplane.policy.waiver_base import parse_waivers, read_base_waivers
from tests.unit.policy_support import write_spec

runner = CliRunner()
SOON = (dt.date.today() + dt.timedelta(days=30)).isoformat()
WAIVER = {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "batch window; PLAT-1", "expires": SOON}
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **_GIT_ENV})


def _set_waivers(spec: Path, waivers: list[dict[str, Any]]) -> None:
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    document["environments"]["dev"]["log_retention_days"] = 30  # above the default floor: no BP-OPS-003
    document["jobs"]["ingest"].pop("timeout", None)  # BP-OPS-002 at jobs.ingest: something for the waiver to waive
    document["policy"] = {"waivers": waivers}
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose one commit holds a spec with no waivers (and a job without a timeout)."""
    spec = write_spec(tmp_path)
    _set_waivers(spec, [])
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "spec")
    return tmp_path


def _check(repo: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(
        app, ["check", "--spec-only", "--format", "json", "--spec", str(repo / "platform.yaml"), *extra]
    )
    document: dict[str, Any] = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, " ".join(result.stderr.split())


def _new(document: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(f["severity"], f["spec_path"], f["line"]) for f in document["findings"] if f["id"] == "BP-POL-006"]


def test_a_waiver_added_since_the_base_is_reported_at_its_line(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    code, document, _ = _check(repo, "--base", "HEAD")
    line = (repo / "platform.yaml").read_text().splitlines().index("  - id: BP-OPS-002") + 1
    assert code == 4
    # BP-OPS-002 is raised to medium in the production tier: the new waiver is as severe as what it waives.
    assert _new(document) == [("medium", "policy.waivers[0]", line)]


def test_the_added_waiver_still_waives_and_is_marked_new_in_the_listing(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    _, document, _ = _check(repo, "--base", "HEAD")
    assert [(w["status"], w["new_since_base"], len(w["waived"])) for w in document["waivers"]] == [
        ("accepted", True, 2)
    ]


def test_a_waiver_committed_at_the_base_is_not_reported(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    _git(repo, "commit", "-q", "-am", "waiver")
    code, document, _ = _check(repo, "--base", "HEAD")
    assert (code, _new(document)) == (0, [])


def test_a_waiver_extended_since_the_base_is_reported(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [{**WAIVER, "expires": dt.date.today().isoformat()}])
    _git(repo, "commit", "-q", "-am", "waiver")
    _set_waivers(repo / "platform.yaml", [WAIVER])
    code, document, _ = _check(repo, "--base", "main")
    assert code == 4
    assert [f["message"] for f in document["findings"] if f["id"] == "BP-POL-006"] == [
        f"waiver of BP-OPS-002 on jobs.ingest was extended since main: {dt.date.today().isoformat()} -> {SOON}"
    ]


def test_without_base_no_waiver_is_reported_as_new(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    code, document, _ = _check(repo)
    assert (code, _new(document), document["waivers"][0]["new_since_base"]) == (0, [], None)


def test_a_spec_missing_at_the_base_makes_every_waiver_new(repo: Path) -> None:
    _git(repo, "mv", "platform.yaml", "spec.yaml")
    _git(repo, "commit", "-q", "-m", "rename")
    _set_waivers(repo / "spec.yaml", [WAIVER])
    result = runner.invoke(
        app, ["check", "--spec-only", "-f", "json", "--spec", str(repo / "spec.yaml"), "--base", "HEAD~1"]
    )
    messages = [f["message"] for f in json.loads(result.stdout)["findings"] if f["id"] == "BP-POL-006"]
    assert messages == [
        "waiver of BP-OPS-002 on jobs.ingest was added since HEAD~1 (spec.yaml does not exist at HEAD~1)"
    ]


def test_a_spec_that_did_not_parse_at_the_base_counts_as_having_no_waivers(repo: Path) -> None:
    spec = repo / "platform.yaml"
    good = spec.read_text()
    _set_waivers(spec, [WAIVER])
    spec.write_text(spec.read_text() + "  - id: [unclosed\n")
    _git(repo, "commit", "-q", "-am", "broken")
    spec.write_text(good)
    _set_waivers(spec, [WAIVER])
    code, document, _ = _check(repo, "--base", "HEAD")
    assert code == 4
    (message,) = [f["message"] for f in document["findings"] if f["id"] == "BP-POL-006"]
    assert message.startswith(
        "waiver of BP-OPS-002 on jobs.ingest was added since HEAD (the spec at HEAD is not valid YAML"
    )


def test_a_bad_ref_is_a_tool_failure_with_a_clear_message(repo: Path) -> None:
    code, _, err = _check(repo, "--base", "no-such-branch")
    assert code == 5
    assert "--base no-such-branch: no such commit here" in err
    assert "Traceback" not in err


def test_a_ref_that_looks_like_an_option_never_reaches_git(repo: Path) -> None:
    code, _, err = _check(repo, "--base=--output=/tmp/x")
    assert code == 5
    assert "is not a git revision" in err


def test_a_spec_outside_any_git_repository_is_a_tool_failure(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}
    result = runner.invoke(app, ["check", "--spec-only", "--spec", str(spec), "--base", "HEAD"], env=env)
    assert result.exit_code == 5
    assert "is not in a git work tree" in " ".join(result.stderr.split())


def test_no_git_on_the_path_is_a_tool_failure(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    code, _, err = _check(repo, "--base", "HEAD")
    assert code == 5
    assert "git is not installed" in err


def test_the_fast_path_takes_base_and_prints_what_the_full_command_prints(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    argv = ["check", "--spec-only", "--format", "json", "--base", "HEAD", "--spec", str(repo / "platform.yaml")]
    assert entry.parse_spec_only_check(argv) == entry.SpecOnlyCheck(
        spec=repo / "platform.yaml", fmt="json", base="HEAD"
    )
    full = runner.invoke(app, argv)
    monkeypatch.setattr(sys, "argv", ["batchplane", *argv])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert (stopped.value.code, capsys.readouterr().out) == (full.exit_code, full.stdout)
    assert full.exit_code == 4


def test_read_base_waivers_reads_the_committed_waivers(repo: Path) -> None:
    _set_waivers(repo / "platform.yaml", [WAIVER])
    _git(repo, "commit", "-q", "-am", "waiver")
    _set_waivers(repo / "platform.yaml", [])
    found = read_base_waivers(repo / "platform.yaml", "HEAD")
    assert [(w.id, w.target, w.expires.isoformat()) for w in found.waivers] == [("BP-OPS-002", "jobs.ingest", SOON)]
    assert found.note is None


def test_invalid_waivers_at_the_base_count_as_none_and_say_so() -> None:
    found = parse_waivers("policy:\n  waivers:\n  - id: nope\n", "main")
    assert found.waivers == ()
    assert found.note is not None
    assert found.note.startswith("the waivers at main are invalid")

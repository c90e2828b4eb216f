"""Every invalid-spec fixture is reported the way a user sees it: file, line, path, message.

Each file in ``fixtures/invalid/`` is a small valid spec with exactly one thing
broken. Its first line declares what ``batchplane validate`` must report::

    # expect: <dotted.path> line <N>[ column <C>]: <substring of the message>

A single ``-`` as the path stands for the empty path: the problem concerns the
document itself (YAML syntax, a duplicate key, a top-level value that is not a
mapping) rather than one key, and the CLI then prints ``file:line[:column]:
message`` with no path segment. ``column`` is given for YAML syntax errors,
where the parser knows it.

The fixtures name jobs whose images do not exist: each one is copied into a
fresh directory without ``job_images/`` and validated there, which is how the
CLI behaves for a spec whose folder tree is not (yet) present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from batchplane.cli.app import app
from batchplane.errors import ExitCode

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
FIXTURE_FILES = sorted(FIXTURES.glob("*.yaml"))
EMPTY_PATH = "-"
EXPECT = re.compile(r"^# expect: (?P<path>\S+) line (?P<line>[0-9]+)(?: column (?P<column>[0-9]+))?: (?P<message>.+)$")


@dataclass(frozen=True)
class Expectation:
    """What one fixture declares in its first line."""

    path: str
    line: int
    column: int | None
    message: str

    @property
    def location(self) -> str:
        """``file:line[:column]: [path: ]`` as the CLI prints it, without the file."""
        where = f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: " + (f"{self.path}: " if self.path else "")


def expectation(fixture: Path) -> Expectation:
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.match(first)
    assert match is not None, f"{fixture.name}: first line is not '# expect: ...': {first!r}"
    path = match["path"]
    return Expectation(
        path="" if path == EMPTY_PATH else path,
        line=int(match["line"]),
        column=int(match["column"]) if match["column"] else None,
        message=match["message"],
    )


def validate(fixture: Path, tmp_path: Path, *extra: str) -> Result:
    """Run ``batchplane validate`` on a copy of ``fixture`` in a directory without job_images/."""
    spec = tmp_path / fixture.name
    spec.write_bytes(fixture.read_bytes())
    return CliRunner().invoke(app, ["validate", "--spec", str(spec), *extra])


def validate_text(text: str, tmp_path: Path, *extra: str) -> Result:
    spec = tmp_path / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["validate", "--spec", str(spec), *extra])


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURE_FILES) >= 34


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_validate_reports_the_declared_problem(fixture: Path, tmp_path: Path) -> None:
    expected = expectation(fixture)

    result = validate(fixture, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID, result.output
    assert "Traceback" not in result.output
    prefix = fixture.name + expected.location
    reported = [line.split(prefix, 1)[1] for line in result.output.splitlines() if prefix in line]
    assert any(expected.message in rest for rest in reported), (
        f"expected a line with {prefix!r} and {expected.message!r}, got:\n{result.output}"
    )


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_each_fixture_breaks_exactly_one_thing(fixture: Path, tmp_path: Path) -> None:
    result = validate(fixture, tmp_path, "--json")

    problems = json.loads(result.stdout)["problems"]
    assert len(problems) == 1, problems


def test_five_on_exit_entries_pass_when_the_last_is_a_catch_all_exit(tmp_path: Path) -> None:
    text = (FIXTURES / "on_exit_five_entries_without_catch_all_exit.yaml").read_text(encoding="utf-8")
    last_entry = '{on_exit_code: "2", action: exit}'
    assert text.count(last_entry) == 1

    result = validate_text(text.replace(last_entry, '{on_exit_code: "*", action: exit}'), tmp_path)

    assert result.exit_code == ExitCode.OK, result.output


def test_a_zero_byte_file_is_reported_as_empty(tmp_path: Path) -> None:
    result = validate_text("", tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    assert "platform.yaml:1: expected a mapping at the top level, got an empty file" in result.output


SEVERAL_PROBLEMS = """\
version: 1
name: acme
region: eu-west-1
environments:
  dev:
    account_id: "111111111111"
    network: {create: true, cidr: 10.10.0.0/16}
    max_vcpus: 64
    log_retention_days: 10
compute:
  ondemand: {kind: ec2, instance_types: [optimal], max_vcpus: 32, min_vcpus: 40}
queues:
  default: {priority: 10, compute: [ondemand, ondemand]}
jobs:
  etl:
    image: etl
    queue: default
    vcpus: 1
    memory_mib: 2048
    command: [python, -m, etl]
    timout: 1h
    retry: {attempts: 0}
"""


def test_several_independent_problems_are_reported_in_one_run(tmp_path: Path) -> None:
    result = validate_text(SEVERAL_PROBLEMS, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    for expected in (
        "platform.yaml:9: environments.dev.log_retention_days: CloudWatch Logs accepts only",
        "platform.yaml:11: compute.ondemand: min_vcpus (40) exceeds max_vcpus (32)",
        "platform.yaml:13: queues.default.compute: a compute environment appears twice",
        "platform.yaml:21: jobs.etl.timout: unknown key 'timout'",
        "platform.yaml:22: jobs.etl.retry.attempts: input should be greater than or equal to 1",
    ):
        assert expected in result.output


SEVERAL_REFERENCE_PROBLEMS = """\
version: 1
name: acme
region: eu-west-1
environments:
  dev:
    account_id: "111111111111"
    network: {create: true, cidr: 10.10.0.0/16}
    max_vcpus: 64
compute:
  ondemand: {kind: ec2, instance_types: [optimal], max_vcpus: 32}
  serverless: {kind: fargate, max_vcpus: 16}
queues:
  default: {priority: 10, compute: [ondemand, serverless]}
  light: {priority: 5, compute: [serverless, gpu]}
jobs:
  etl: {image: etl, queue: nightly, vcpus: 1, memory_mib: 2048, command: [etl]}
  report: {image: report, queue: light, vcpus: 1, memory_mib: 2048, command: [report], share: adhoc}
"""


def test_several_reference_problems_are_reported_in_one_run(tmp_path: Path) -> None:
    result = validate_text(SEVERAL_REFERENCE_PROBLEMS, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    for expected in (
        "platform.yaml:13: queues.default.compute: a queue cannot mix Fargate and EC2",
        "platform.yaml:14: queues.light.compute[1]: no compute environment named 'gpu'",
        "platform.yaml:16: jobs.etl.queue: no queue named 'nightly'",
        "platform.yaml:17: jobs.report.share: queue light has no fair_share",
    ):
        assert expected in result.output


def test_validate_json_lists_located_problems(tmp_path: Path) -> None:
    result = validate(FIXTURES / "job_unknown_queue.yaml", tmp_path, "--json")

    assert result.exit_code == ExitCode.SPEC_INVALID
    assert json.loads(result.stdout) == {
        "valid": False,
        "problems": [
            {
                "file": "job_unknown_queue.yaml",
                "line": expectation(FIXTURES / "job_unknown_queue.yaml").line,
                "column": None,
                "path": "jobs.etl.queue",
                "message": "no queue named 'nightly' (did you mean 'light'?) (known: default, light)",
            }
        ],
    }

"""The command line as a user sees it: output streams, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from batchplane import __version__
from batchplane.cli.app import app
from batchplane.spec.schema import spec_json_schema
from tests.conftest import REPO

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"batchplane {__version__}"


def test_validate_reports_counts_on_stdout() -> None:
    result = runner.invoke(app, ["validate", "--spec", str(REPO / "platform.yaml")])
    assert result.exit_code == 0
    assert "valid (3 environments, 4 compute environments, 3 queues, 3 jobs)" in result.stdout


def test_validate_json() -> None:
    result = runner.invoke(app, ["validate", "--json", "--spec", str(REPO / "platform.yaml")])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True


def test_spec_is_found_from_a_subdirectory(platform_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(platform_repo / "job_images")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output


def test_missing_spec_exits_3_with_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 3
    assert "no platform.yaml" in result.stderr
    assert "--spec" in result.stderr


def test_spec_file_that_does_not_exist_exits_3(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--spec", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 3
    assert "file not found" in result.stderr


def test_unknown_environment_is_a_usage_error() -> None:
    result = runner.invoke(app, ["render", "--check", "--env", "staging", "--spec", str(REPO / "platform.yaml")])
    assert result.exit_code == 2
    assert "staging" in result.output


def test_errors_go_to_stderr_and_keep_brackets(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    text = (REPO / "platform.yaml").read_text().replace('on_exit_code: "1"', 'on_exit_code: "1*2"')
    spec.write_text(text)
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 3
    assert "jobs.csv-ingest.retry.on_exit[1]" in result.stderr
    assert result.stdout == ""


def test_schema_is_a_json_schema_of_the_spec() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"version", "name", "region", "environments"}
    assert schema["additionalProperties"] is False


def test_committed_schema_file_is_current() -> None:
    committed = json.loads((REPO / "platform.schema.json").read_text())
    assert committed == spec_json_schema()


def test_example_validates_against_its_json_schema() -> None:

    document = YAML(typ="safe").load((REPO / "platform.yaml").read_text())
    document["policy"].setdefault("waivers", [])
    jsonschema.Draft202012Validator(spec_json_schema()).validate(json.loads(json.dumps(document, default=str)))


@pytest.mark.parametrize(
    "command",
    [
        ["schema", "--output"],
        ["graph", "--env", "dev", "--format", "mermaid", "--spec", str(REPO / "platform.yaml"), "--output"],
        ["check", "--spec-only", "--format", "json", "--spec", str(REPO / "platform.yaml"), "--output"],
    ],
)
def test_an_output_into_a_missing_folder_is_a_usage_error(command: list[str], tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.txt"
    result = runner.invoke(app, [*command, str(target)])
    assert result.exit_code == 2, result.output
    assert f"folder {target.parent} does not exist" in " ".join(result.stderr.split())
    assert not target.parent.exists()

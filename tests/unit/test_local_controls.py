"""`local fire` and `local clock`: which schedule a name means, and usage errors before any AWS call."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.local.controls import ScheduleUsageError, duration_seconds, schedule_name
from batchplane.spec import load_spec
from tests.conftest import EXAMPLE_SPEC


def test_a_scheduled_job_or_pipeline_names_its_rendered_schedule() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    assert schedule_name(spec, "dev", "csv-ingest") == "acme-dev-csv-ingest"
    assert schedule_name(spec, "prod", "nightly") == "acme-prod-nightly"


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ScheduleUsageError, match="did you mean 'nightly'") as raised:
        schedule_name(load_spec(EXAMPLE_SPEC), "dev", "nightli")
    assert raised.value.exit_code == ExitCode.USAGE


def test_durations_are_the_spec_s_and_a_bad_one_is_a_usage_error() -> None:
    assert duration_seconds("1h30m") == 5400
    with pytest.raises(ScheduleUsageError, match="--advance"):
        duration_seconds("soon")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["local", "fire", "csv-ingst", "--env", "dev"], "did you mean 'csv-ingest'"),
        (["local", "fire", "csv-ingest", "--env", "qa"], "--env"),
        (["local", "clock", "--advance", "soon"], "--advance"),
        (["local", "clock", "--scale", "0"], "--scale must be positive"),
    ],
)
def test_usage_errors_are_exit_2_before_the_local_aws_is_asked(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*args, "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in " ".join(result.stderr.split())


def test_a_job_without_a_schedule_says_which_have_one(tmp_path: Path) -> None:
    spec_file = tmp_path / "platform.yaml"
    spec_file.write_text(EXAMPLE_SPEC.read_text().replace('    schedule: "rate(6 hours)"\n', ""))
    with pytest.raises(ScheduleUsageError, match="data-quality has no schedule") as raised:
        schedule_name(load_spec(spec_file), "dev", "data-quality")
    assert "csv-ingest" in str(raised.value)


def test_an_update_replaces_only_the_compute_resources_it_sets() -> None:
    from batchplane.local.compute_fidelity import updated_resources

    current = {"type": "EC2", "maxvCpus": 4, "instanceTypes": ["optimal"], "subnets": ["subnet-1"]}
    assert updated_resources(current, {"maxvCpus": 8, "instanceTypes": ["c6i"]}) == {
        "type": "EC2",
        "maxvCpus": 8,
        "instanceTypes": ["c6i"],
        "subnets": ["subnet-1"],
    }
    assert updated_resources(current, None) == current

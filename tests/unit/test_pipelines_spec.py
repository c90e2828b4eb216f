"""Pipelines in the spec: models, and checks reported at the spec line (exit 3), all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode, SpecError, SpecProblem
from batchplane.spec import parse_spec
from batchplane.spec.pipeline_checks import MAX_DEPENDENCIES

BASE = """\
version: 1
name: acme
region: eu-west-1
environments:
  dev: {account_id: "111111111111", max_vcpus: 64, network: {create: true, cidr: 10.0.0.0/16}}
compute:
  ec2: {kind: ec2, instance_types: [c6i.large], max_vcpus: 16}
queues:
  main: {priority: 1, compute: [ec2]}
jobs:
  extract: {image: extract, queue: main, vcpus: 1, memory_mib: 2048, command: [run], parameters: {input: x}}
  load: {image: load, queue: main, vcpus: 1, memory_mib: 2048, command: [run]}
pipelines:
"""


def _problems(pipelines: str, tmp_path: Path) -> list[SpecProblem]:
    with pytest.raises(SpecError) as raised:
        parse_spec(BASE + pipelines, path=tmp_path / "platform.yaml", check_images=False)
    return raised.value.problems


def _one(pipelines: str, tmp_path: Path) -> SpecProblem:
    problems = _problems(pipelines, tmp_path)
    assert len(problems) == 1, problems
    return problems[0]


def _line(pipelines: str, needle: str) -> int:
    """The spec line holding ``needle`` (pipelines start after BASE)."""
    lines = (BASE + pipelines).splitlines()
    return next(number for number, text in enumerate(lines, start=1) if needle in text)


def test_a_valid_pipeline_parses_with_its_defaults(tmp_path: Path) -> None:
    text = BASE + "  etl:\n    steps:\n      a: {job: extract}\n      b: {job: load, depends_on: [a]}\n"
    spec = parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    pipeline = spec.platform.pipelines["etl"]
    assert pipeline.on_failure == "stop"
    assert pipeline.schedule is None
    assert pipeline.triggers == []
    assert pipeline.steps["b"].depends_on == ["a"]


def test_unknown_job_suggests_the_closest(tmp_path: Path) -> None:
    text = "  etl:\n    steps:\n      a: {job: extrct}\n"
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.steps.a.job"
    assert problem.line == _line(text, "extrct")
    assert "no job named 'extrct' (did you mean 'extract'?)" in problem.message


def test_unknown_step_in_depends_on(tmp_path: Path) -> None:
    text = "  etl:\n    steps:\n      a: {job: extract}\n      b:\n        job: load\n        depends_on: [a, c]\n"
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.steps.b.depends_on[1]"
    assert problem.line == _line(text, "depends_on")
    assert "no step in pipeline etl named 'c'" in problem.message


def test_a_cycle_names_its_steps(tmp_path: Path) -> None:
    text = (
        "  etl:\n    steps:\n"
        "      a: {job: extract, depends_on: [c]}\n"
        "      b: {job: load, depends_on: [a]}\n"
        "      c: {job: load, depends_on: [b]}\n"
    )
    problem = _one(text, tmp_path)
    assert problem.path.startswith("pipelines.etl.steps.")
    assert problem.path.endswith(".depends_on")
    assert "cycle" in problem.message
    cycle = problem.message.split("cycle: ")[1].split(" (")[0].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert sorted(set(cycle)) == ["a", "b", "c"]
    step = problem.path.split(".")[3]
    assert problem.line == _line(text, f"      {step}:")


def test_a_step_depending_on_itself(tmp_path: Path) -> None:
    text = "  etl:\n    steps:\n      a: {job: extract, depends_on: [a]}\n"
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.steps.a.depends_on[0]"
    assert "step a depends on itself" in problem.message


def test_more_dependencies_than_batch_allows(tmp_path: Path) -> None:
    names = [f"s{i}" for i in range(MAX_DEPENDENCIES + 1)]
    steps = "".join(f"      {n}: {{job: load}}\n" for n in names)
    text = f"  etl:\n    steps:\n{steps}      last:\n        job: load\n        depends_on: [{', '.join(names)}]\n"
    problem = _one(text, tmp_path)
    assert MAX_DEPENDENCIES == 20
    assert problem.path == "pipelines.etl.steps.last.depends_on"
    assert problem.line == _line(text, "depends_on")
    assert "21 dependencies: AWS Batch allows at most 20" in problem.message


def test_array_steps_of_different_sizes_cannot_depend_element_by_element(tmp_path: Path) -> None:
    text = (
        "  etl:\n    steps:\n"
        "      a: {job: extract, array_size: 4}\n"
        "      b: {job: load, depends_on: [a], array_size: 5}\n"
    )
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.steps.b.depends_on[0]"
    assert problem.line == _line(text, "array_size: 5")
    assert "element by element (N_TO_N)" in problem.message
    assert "4" in problem.message


def test_array_steps_of_equal_size_and_array_after_single_are_fine(tmp_path: Path) -> None:
    text = BASE + (
        "  etl:\n    steps:\n"
        "      a: {job: extract}\n"
        "      b: {job: load, depends_on: [a], array_size: 5}\n"
        "      c: {job: load, depends_on: [b], array_size: 5}\n"
    )
    spec = parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    assert spec.platform.pipelines["etl"].steps["c"].array_size == 5


def test_parameters_the_job_does_not_declare(tmp_path: Path) -> None:
    text = "  etl:\n    steps:\n      a:\n        job: extract\n        parameters: {input: y, output: z}\n"
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.steps.a.parameters.output"
    assert "job extract declares no parameter 'output' (declared: input)" in problem.message


def test_every_problem_in_one_run(tmp_path: Path) -> None:
    text = (
        "  etl:\n    steps:\n"
        "      a: {job: nope}\n"
        "      b: {job: load, depends_on: [zz]}\n"
        "  other:\n    steps:\n      x: {job: load, depends_on: [x]}\n"
    )
    paths = {p.path for p in _problems(text, tmp_path)}
    assert paths == {
        "pipelines.etl.steps.a.job",
        "pipelines.etl.steps.b.depends_on[0]",
        "pipelines.other.steps.x.depends_on[0]",
    }


@pytest.mark.parametrize(
    ("pipeline", "path", "message"),
    [
        ("  etl:\n    steps: {}\n", "pipelines.etl.steps", "at least 1"),
        ("  etl:\n    steps:\n      a: {job: load, retries: 3}\n", "pipelines.etl.steps.a.retries", "unknown key"),
        ("  etl:\n    on_failure: halt\n    steps:\n      a: {job: load}\n", "pipelines.etl.on_failure", "stop"),
        ("  etl:\n    schedule: every day\n    steps:\n      a: {job: load}\n", "pipelines.etl.schedule", "Scheduler"),
        ("  etl:\n    steps:\n      a: {job: load, array_size: 1}\n", "pipelines.etl.steps.a.array_size", "2"),
        ("  load:\n    steps:\n      a: {job: load}\n", "pipelines.load", "a job is named load too"),
    ],
)
def test_schema_and_name_problems(tmp_path: Path, pipeline: str, path: str, message: str) -> None:
    problem = _one(pipeline, tmp_path)
    assert problem.path == path
    assert message in problem.message


def test_a_pipeline_trigger_takes_no_parameter(tmp_path: Path) -> None:
    trigger = "      - s3: {bucket: in-bucket, parameter: input}\n"
    text = f"  etl:\n    triggers:\n{trigger}    steps:\n      a: {{job: extract}}\n"
    problem = _one(text, tmp_path)
    assert problem.path == "pipelines.etl.triggers[0].s3.parameter"


def test_pipelines_are_not_overridable(tmp_path: Path) -> None:
    env = '  dev: {account_id: "111111111111", max_vcpus: 64, network: {create: true, cidr: 10.0.0.0/16}}'
    overridden = env[:-1] + ", overrides: {pipelines: {etl: {on_failure: continue}}}}"
    text = BASE.replace(env, overridden) + "  etl:\n    steps:\n      a: {job: extract}\n"
    with pytest.raises(SpecError) as raised:
        parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    assert [p.path for p in raised.value.problems] == ["environments.dev.overrides.pipelines"]


def test_validate_exits_3_at_the_line(tmp_path: Path) -> None:
    text = "  etl:\n    steps:\n      a: {job: extract, depends_on: [b]}\n      b: {job: load, depends_on: [a]}\n"
    spec = tmp_path / "platform.yaml"
    spec.write_text(BASE + text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == ExitCode.SPEC_INVALID, result.output
    assert "cycle" in result.output
    assert f"platform.yaml:{_line(text, '      a:')}: pipelines.etl.steps.a.depends_on" in result.output


def test_a_pipeline_name_too_long_for_its_iam_roles_is_refused_at_its_line(tmp_path: Path) -> None:
    platform = "p" * 32  # its jobs still fit: ppp…-dev-extract-events is 51 characters
    name = "n" * 32  # ppp…-dev-nnn…-events is 76, over IAM's 64
    text = BASE.replace("name: acme", f"name: {platform}") + f"  {name}:\n    steps:\n      a: {{job: extract}}\n"
    with pytest.raises(SpecError) as raised:
        parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    [problem] = raised.value.problems
    assert problem.path == f"pipelines.{name}"
    assert problem.line == text.splitlines().index(f"  {name}:") + 1
    assert "too long for IAM" in problem.message
    assert "shorten the platform, environment or pipeline name" in problem.message


def test_a_step_problem_is_reported_in_the_same_run_as_a_schema_error_elsewhere(tmp_path: Path) -> None:
    text = BASE.replace("command: [run]}\npipelines:", "command: [run], gpus: true}\npipelines:")
    text += "  etl:\n    steps:\n      a: {job: extrct}\n"
    with pytest.raises(SpecError) as raised:
        parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    paths = [problem.path for problem in raised.value.problems]
    assert paths == ["jobs.load.gpus", "pipelines.etl.steps.a.job"]

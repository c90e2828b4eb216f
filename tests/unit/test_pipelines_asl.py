"""The state machine definitions rendered from pipelines: valid ASL (statelint), and the documented semantics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from statelint.linter import Linter

from batchplane.images.lock import ImageLock
from batchplane.render.pipelines import BATCH_SUBMIT_SYNC, STEP_FAILED, definition, waves
from batchplane.render.roots import env_values
from batchplane.spec import Spec, load_spec, parse_spec
from tests.conftest import EXAMPLE_SPEC, REPO

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
  shared: {priority: 1, compute: [ec2], fair_share: {shares: {analytics: 3, adhoc: 1}}}
jobs:
  extract: {image: extract, queue: main, vcpus: 1, memory_mib: 2048, command: [run], parameters: {input: x}}
  load: {image: load, queue: main, vcpus: 1, memory_mib: 2048, command: [run]}
  fair: {image: load, queue: shared, vcpus: 1, memory_mib: 2048, command: [run], share: analytics}
pipelines:
"""

DIAMOND = """\
  diamond:
    steps:
      top: {job: extract, parameters: {input: "s3://in/today.csv"}}
      left: {job: load, depends_on: [top]}
      right: {job: fair, depends_on: [top]}
      bottom: {job: load, depends_on: [left, right]}
"""
ARRAYS = """\
  arrays:
    schedule: "rate(1 day)"
    steps:
      split: {job: extract, array_size: 8}
      work: {job: load, depends_on: [split], array_size: 8}
      merge: {job: load, depends_on: [work]}
"""
CONTINUE = """\
  lenient:
    on_failure: continue
    steps:
      a: {job: extract}
      b: {job: load, depends_on: [a]}
      c: {job: load}
      d: {job: load, depends_on: [b, c]}
"""
SINGLE = """\
  single:
    steps:
      only: {job: load}
"""


def _spec(tmp_path: Path, pipelines: str) -> Spec:
    return parse_spec(BASE + pipelines, path=tmp_path / "platform.yaml", check_images=False)


def _all_definitions(tmp_path: Path) -> list[dict[str, Any]]:
    example = load_spec(EXAMPLE_SPEC)
    found = [definition(example.env(env), env, name) for env in example.resolved for name in example.platform.pipelines]
    spec = _spec(tmp_path, DIAMOND + ARRAYS + CONTINUE + SINGLE)
    found += [definition(spec.env("dev"), "dev", name) for name in spec.platform.pipelines]
    return found


def _branches(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Step name -> its branch, over every wave."""
    return {
        branch["States"][name]["Parameters"]["JobName"].rsplit("-", 1)[1]: branch
        for state in document["States"].values()
        if state["Type"] == "Parallel"
        for branch in state["Branches"]
        for name in branch["States"]
        if branch["States"][name]["Type"] == "Task"
    }


def _tasks(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for wave in document["States"].values()
        if wave["Type"] == "Parallel"
        for branch in wave["Branches"]
        for name, state in branch["States"].items()
        if state["Type"] == "Task"
    }


def test_every_rendered_definition_passes_statelint(tmp_path: Path) -> None:
    documents = _all_definitions(tmp_path)
    assert len(documents) == 3 + 4
    for document in documents:
        assert Linter.validate(document) == [], json.dumps(document, indent=1)


def test_statelint_does_find_problems() -> None:
    assert Linter.validate({"StartAt": "wave 1", "States": {"wave 1": {"Type": "Parallel", "Next": "nowhere"}}})


def test_the_example_runs_its_steps_in_dependency_order_with_an_array_report() -> None:
    example = load_spec(EXAMPLE_SPEC)
    document = definition(example.env("dev"), "dev", "nightly")
    assert document["StartAt"] == "wave 1"
    assert [state["Comment"] for state in document["States"].values()] == ["ingest", "check", "report"]
    assert document["States"]["wave 1"]["Next"] == "wave 2"
    assert document["States"]["wave 3"]["End"] is True
    tasks = _tasks(document)
    batch = "arn:aws:batch:eu-west-1:111111111111"
    assert tasks["ingest"]["Resource"] == BATCH_SUBMIT_SYNC
    assert tasks["ingest"]["Parameters"] == {
        "JobName": "acme-dev-nightly-ingest",
        "JobDefinition": f"{batch}:job-definition/acme-dev-csv-ingest",
        "JobQueue": f"{batch}:job-queue/acme-dev-default",
        "Parameters": {"input": "s3://acme-input/incoming/sample.csv"},
    }
    assert tasks["report"]["Parameters"]["ArrayProperties"] == {"Size": 4}
    assert tasks["report"]["Parameters"]["JobQueue"] == f"{batch}:job-queue/acme-dev-critical"
    prod = definition(example.env("prod"), "prod", "nightly")
    assert _tasks(prod)["check"]["Parameters"]["JobDefinition"] == (
        "arn:aws:batch:eu-west-1:333333333333:job-definition/acme-prod-data-quality"
    )


def test_the_rendered_root_carries_the_definition_and_the_arns_the_role_needs() -> None:
    example = load_spec(EXAMPLE_SPEC)
    values = env_values(example.env("dev"), ImageLock(), "dev")["pipelines"]["nightly"]
    assert json.loads(values["definition"]) == definition(example.env("dev"), "dev", "nightly")
    assert values["jobs"] == ["csv-ingest", "data-quality", "nightly-report"]
    assert values["queues"] == ["default", "light", "critical"]
    assert values["schedule"] == "cron(0 1 * * ? *)"
    committed = json.loads((REPO / "environments/dev/terraform.tfvars.json").read_text(encoding="utf-8"))
    assert committed["pipelines"]["nightly"] == values


def test_a_diamond_runs_independent_steps_in_parallel_and_waits_for_both(tmp_path: Path) -> None:
    spec = _spec(tmp_path, DIAMOND)
    pipeline = spec.platform.pipelines["diamond"]
    assert waves(pipeline) == [["top"], ["left", "right"], ["bottom"]]
    document = definition(spec.env("dev"), "dev", "diamond")
    assert len(document["States"]["wave 2"]["Branches"]) == 2
    tasks = _tasks(document)
    assert tasks["right"]["Parameters"]["ShareIdentifier"] == "analytics"
    assert "ShareIdentifier" not in tasks["left"]["Parameters"]
    assert "Parameters" not in tasks["left"]["Parameters"]


def test_on_failure_stop_fails_the_execution_naming_the_step(tmp_path: Path) -> None:
    spec = _spec(tmp_path, DIAMOND)
    document = definition(spec.env("dev"), "dev", "diamond")
    branch = _branches(document)["left"]
    catch = branch["States"]["left"]["Catch"]
    assert catch == [{"ErrorEquals": ["States.ALL"], "Next": "left failed"}]
    assert branch["States"]["left failed"] == {
        "Type": "Fail",
        "Error": STEP_FAILED,
        "Cause": "step left (job load) failed",
    }
    # Nothing catches a failed wave: the execution fails and no later wave runs.
    assert all("Catch" not in state for state in document["States"].values())


def test_on_failure_continue_skips_dependents_and_fails_at_the_end(tmp_path: Path) -> None:
    spec = _spec(tmp_path, CONTINUE)
    document = definition(spec.env("dev"), "dev", "lenient")
    assert waves(spec.platform.pipelines["lenient"]) == [["a", "c"], ["b"], ["d"]]
    branches = _branches(document)
    assert branches["a"]["StartAt"] == "a"
    assert branches["a"]["States"]["a failed"]["Type"] == "Pass"
    assert branches["a"]["States"]["a failed"]["Parameters"]["status"] == "FAILED"
    assert branches["d"]["StartAt"] == "d ready?"
    rule = branches["d"]["States"]["d ready?"]["Choices"][0]
    # b is wave 2's only branch, c wave 1's second.
    assert rule["Or"] == [
        {"Not": {"Variable": "$.wave2[0].status", "StringEquals": "SUCCEEDED"}},
        {"Not": {"Variable": "$.wave1[1].status", "StringEquals": "SUCCEEDED"}},
    ]
    assert rule["Next"] == "d skipped"
    assert branches["d"]["States"]["d skipped"]["Result"] == {"step": "d", "status": "SKIPPED"}
    outcome = document["States"]["outcome"]
    assert [c["Next"] for c in outcome["Choices"]] == ["failed at a", "failed at c", "failed at b", "failed at d"]
    assert outcome["Default"] == "succeeded"
    assert document["States"]["failed at b"]["Cause"].startswith("step b (job load) failed")


def test_a_single_step_pipeline(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SINGLE)
    document = definition(spec.env("dev"), "dev", "single")
    assert list(document["States"]) == ["wave 1"]
    assert document["States"]["wave 1"]["End"] is True


@pytest.mark.parametrize("pipelines", [DIAMOND, ARRAYS, CONTINUE, SINGLE])
def test_definitions_are_byte_deterministic(tmp_path: Path, pipelines: str) -> None:
    first = env_values(_spec(tmp_path, pipelines).env("dev"), ImageLock(), "dev")["pipelines"]
    second = env_values(_spec(tmp_path, pipelines).env("dev"), ImageLock(), "dev")["pipelines"]
    assert first == second
    array = _tasks(json.loads(next(iter(first.values()))["definition"]))
    if pipelines is ARRAYS:
        assert array["work"]["Parameters"]["ArrayProperties"] == {"Size": 8}
        assert "ArrayProperties" not in array["merge"]["Parameters"]

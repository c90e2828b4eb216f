"""BP-OPS-001 counts array jobs and array steps: N children of v vCPUs ask for N x v vCPUs at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from batchplane.policy import reports as report
from batchplane.policy.rules import evaluate
from tests.unit.policy_support import base, pinned_lock, spec_from

Doc = dict[str, Any]


def _findings(doc: Doc, tmp_path: Path) -> list[dict[str, Any]]:
    spec = spec_from(doc, tmp_path)
    outcome = evaluate(spec, spec.environments, pinned_lock())
    findings: list[dict[str, Any]] = json.loads(report.to_json(outcome))["findings"]
    return findings


def _pipeline(doc: Doc, array_size: int) -> None:
    doc["pipelines"] = {"nightly": {"steps": {"fan": {"job": "ingest", "array_size": array_size}}}}


def test_an_array_step_within_the_budget_passes(tmp_path: Path) -> None:
    doc = base()
    _pipeline(doc, 64)  # 64 x 1 vCPU = the budget of 64
    assert _findings(doc, tmp_path) == []


def test_an_array_step_over_the_budget_is_flagged_at_its_array_size(tmp_path: Path) -> None:
    doc = base()
    _pipeline(doc, 65)
    findings = _findings(doc, tmp_path)
    assert {(f["id"], f["environment"], f["spec_path"], f["severity"]) for f in findings} == {
        ("BP-OPS-001", env, "pipelines.nightly.steps.fan.array_size", "medium") for env in ("dev", "prod")
    }
    assert all(f["address"] == 'module.pipeline["nightly"]' for f in findings)
    assert (
        "65 children of 1 vCPU (ingest) ask for 65 vCPUs at once, over the environment's budget of 64"
        in (findings[0]["message"])
    )
    lines = spec_from(doc, tmp_path).path.read_text().splitlines()
    assert lines[findings[0]["line"] - 1].strip() == "array_size: 65"


def test_an_array_job_multiplies_its_vcpus(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["ingest"]["vcpus"] = 2
    doc["jobs"]["ingest"]["array_size"] = 33  # 66 vCPUs
    findings = _findings(doc, tmp_path)
    assert {(f["id"], f["spec_path"]) for f in findings} == {("BP-OPS-001", "jobs.ingest.array_size")}
    doc["jobs"]["ingest"]["array_size"] = 32  # 64 vCPUs
    assert _findings(doc, tmp_path) == []


def test_only_the_environment_whose_budget_is_too_small_is_flagged(tmp_path: Path) -> None:
    doc = base()
    doc["environments"]["prod"]["max_vcpus"] = 256
    _pipeline(doc, 100)
    findings = _findings(doc, tmp_path)
    assert [(f["environment"], f["spec_path"]) for f in findings] == [("dev", "pipelines.nightly.steps.fan.array_size")]

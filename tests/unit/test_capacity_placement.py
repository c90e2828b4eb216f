"""The placement corpus: each small spec gets exactly the BP-CAP finding it deserves, at the line a human edits.

Every case builds a spec from :data:`BASE`: one queue ``work`` over the compute
environments the case lists (``c0``, ``c1``, ...), and one job ``render`` on it.
A case names the findings it expects as (rule, environment, spec path, the text
of that line in platform.yaml); a case that expects none is a job that fits.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.capacity.catalogue import expand
from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.policy.rules import evaluate
from batchplane.spec.loader import parse_spec
from tests.conftest import EXAMPLE_SPEC
from tests.unit.policy_support import pinned_lock

Doc = dict[str, Any]

BASE: Doc = {
    "version": 1,
    "name": "acme",
    "region": "eu-west-1",
    "environments": {
        "dev": {
            "account_id": "111111111111",
            "network": {"create": True, "cidr": "10.10.0.0/16"},
            "max_vcpus": 100000,
            "log_retention_days": 30,
        },
    },
    "compute": {},
    "queues": {"work": {"priority": 1, "compute": []}},
    "jobs": {
        "render": {
            "image": "render",
            "queue": "work",
            "vcpus": 1,
            "memory_mib": 2048,
            "command": ["python", "-m", "render"],
            "timeout": "1h",
        }
    },
}

# The largest type `optimal` stands for, by usable memory: a fact of the catalogue, not typed here.
OPTIMAL_LARGEST = expand(["optimal"]).largest()
assert OPTIMAL_LARGEST is not None
OPTIMAL_USABLE = OPTIMAL_LARGEST.usable_memory_mib

Expected = tuple[str, str, str, str]
"""(rule, environment, spec path, the stripped text of the finding's line)."""


@dataclass(frozen=True)
class Case:
    """One spec of the corpus: the queue's compute, the job, and what the rules must find."""

    name: str
    compute: list[Doc]
    job: Doc
    expected: list[Expected] = field(default_factory=list)
    overrides: Doc | None = None
    fair_share: Doc | None = None
    message: str = ""
    """A substring of the (single) finding's message."""

    def document(self) -> Doc:
        doc = copy.deepcopy(BASE)
        doc["compute"] = {f"c{i}": c for i, c in enumerate(self.compute)}
        doc["queues"]["work"]["compute"] = list(doc["compute"])
        doc["jobs"]["render"].update(self.job)
        if self.fair_share is not None:
            doc["queues"]["work"]["fair_share"] = self.fair_share
        if self.overrides is not None:
            doc["environments"]["prod"] = {
                "account_id": "333333333333",
                "network": {"create": True, "cidr": "10.30.0.0/16"},
                "max_vcpus": 100000,
                "log_retention_days": 30,
                "overrides": self.overrides,
            }
        return doc


def ec2(*types: str, max_vcpus: int = 256) -> Doc:
    return {"kind": "ec2", "instance_types": list(types), "max_vcpus": max_vcpus}


def fargate(max_vcpus: int = 16) -> Doc:
    return {"kind": "fargate", "max_vcpus": max_vcpus}


def cap(rule: str, path: str, text: str, environment: str = "dev") -> Expected:
    return (f"BP-CAP-{rule}", environment, path, text)


MEMORY = "jobs.render.memory_mib"
VCPUS = "jobs.render.vcpus"
GPUS = "jobs.render.gpus"

CASES = [
    Case(
        "8GiB-on-m4.large-only",
        [ec2("m4.large")],
        {"memory_mib": 8192},
        [cap("001", MEMORY, "memory_mib: 8192")],
        message="needs 8192 MiB: the largest instance queue work can launch, "
        "m4.large (2 vCPU, 7953 MiB usable of 8192 MiB, no GPU), cannot hold it",
    ),
    Case("m4.large-usable-memory-fits", [ec2("m4.large")], {"memory_mib": 7953}),
    Case("m4.large-one-MiB-over", [ec2("m4.large")], {"memory_mib": 7954}, [cap("001", MEMORY, "memory_mib: 7954")]),
    Case(
        "3-vcpus-on-m4.large",
        [ec2("m4.large")],
        {"vcpus": 3},
        [cap("001", VCPUS, "vcpus: 3")],
        message="needs 3 vCPU: the largest instance queue work can launch, m4.large",
    ),
    Case(
        "gpu-job-on-c-family",
        [ec2("c5")],
        {"gpus": 1},
        [cap("002", GPUS, "gpus: 1")],
        message="no instance type queue work can launch has a GPU (instance types: c5)",
    ),
    Case("gpu-job-on-c-types", [ec2("c6i.large", "c6i.xlarge")], {"gpus": 1}, [cap("002", GPUS, "gpus: 1")]),
    Case("optimal-largest-usable-fits", [ec2("optimal")], {"memory_mib": OPTIMAL_USABLE}),
    Case(
        "optimal-one-MiB-over-the-largest",
        [ec2("optimal")],
        {"memory_mib": OPTIMAL_USABLE + 1},
        [cap("001", MEMORY, f"memory_mib: {OPTIMAL_USABLE + 1}")],
        message=f"the largest instance queue work can launch, {OPTIMAL_LARGEST.describe()}, cannot hold it",
    ),
    Case(
        "fargate-memory-does-not-pair",
        [fargate()],
        {"vcpus": 1, "memory_mib": 1024},
        [cap("004", MEMORY, "memory_mib: 1024")],
        message="1024 MiB does not pair with 1 vCPU on Fargate: use 2048..8192 in steps of 1024 "
        "(queue work is Fargate)",
    ),
    Case(
        "fargate-vcpus-not-a-size",
        [fargate()],
        {"vcpus": 3, "memory_mib": 6144},
        [cap("004", VCPUS, "vcpus: 3")],
        message="3 vCPU is not a Fargate size: use one of 0.25, 0.5, 1, 2, 4, 8, 16",
    ),
    Case("fargate-largest-size-fits", [fargate()], {"vcpus": 16, "memory_mib": 122880}),
    Case(
        "vcpus-over-max-vcpus",
        [ec2("optimal", max_vcpus=32)],
        {"vcpus": 48},
        [cap("003", VCPUS, "vcpus: 48")],
        message="48 vCPU can never run: the compute environments of queue work allow at most 32",
    ),
    Case(
        "fargate-vcpus-over-max-vcpus",
        [fargate(max_vcpus=8)],
        {"vcpus": 16, "memory_mib": 32768},
        [cap("003", VCPUS, "vcpus: 16")],
    ),
    Case(
        "unknown-instance-type",
        [ec2("m4.large", "m4.huge")],
        {},
        [cap("005", "compute.c0.instance_types[1]", "- m4.huge")],
        message="knows no instance type, family or keyword 'm4.huge'",
    ),
    Case(
        "only-unknown-instance-types",
        [ec2("z9")],
        {},
        [cap("005", "compute.c0.instance_types[0]", "- z9"), cap("001", "jobs.render.queue", "queue: work")],
    ),
    Case("c5-family-largest-fits", [ec2("c5")], {"vcpus": 96, "memory_mib": 180000}),
    Case(
        "c5-family-too-few-vcpus",
        [ec2("c5")],
        {"vcpus": 100},
        [cap("001", VCPUS, "vcpus: 100")],
        message="needs 100 vCPU: the largest instance queue work can launch, c5.metal (96 vCPU",
    ),
    Case("default-arm64-fits", [ec2("default_arm64")], {"vcpus": 64, "memory_mib": 250000}),
    Case(
        "default-arm64-too-few-vcpus",
        [ec2("default_arm64")],
        {"vcpus": 65},
        [cap("001", VCPUS, "vcpus: 65")],
        message="needs 65 vCPU: the largest instance queue work can launch, r6g.metal (64 vCPU",
    ),
    Case("only-the-fallback-holds-it", [ec2("m4.large"), ec2("r6i")], {"vcpus": 8, "memory_mib": 61440}),
    Case(
        "neither-compute-holds-it",
        [ec2("m4.large"), ec2("c6i.large")],
        {"memory_mib": 16384},
        [cap("001", MEMORY, "memory_mib: 16384")],
        message="the largest instance queue work can launch, m4.large",
    ),
    Case(
        "memory-overridden-in-prod",
        [ec2("m4.large")],
        {"memory_mib": 4096},
        [cap("001", "environments.prod.overrides.jobs.render.memory_mib", "memory_mib: 16384", "prod")],
        overrides={"jobs": {"render": {"memory_mib": 16384}}},
    ),
    Case(
        "instance-types-overridden-in-prod",
        [ec2("m4.large")],
        {},
        [cap("005", "environments.prod.overrides.compute.c0.instance_types[1]", "- m4.larg", "prod")],
        overrides={"compute": {"c0": {"instance_types": ["m4.large", "m4.larg"]}}},
        message="(did you mean 'm4.large'?)",
    ),
    Case("gpu-job-on-g4dn-fits", [ec2("g4dn")], {"gpus": 1, "vcpus": 4, "memory_mib": 15000}),
    Case(
        "more-gpus-than-any-type",
        [ec2("g4dn")],
        {"gpus": 16},
        [cap("001", GPUS, "gpus: 16")],
        message="needs 16 GPU: the largest instance queue work can launch, g4dn.metal (96 vCPU, 383248 MiB usable of "
        "393216 MiB, 8 GPU), cannot hold it",
    ),
    Case(
        "gpu-job-on-fargate",
        [fargate()],
        {"gpus": 1, "vcpus": 1, "memory_mib": 2048},
        [cap("002", GPUS, "gpus: 1")],
        message="queue work is Fargate, which has no GPUs",
    ),
    Case("gpu-job-on-a-gpu-fallback", [ec2("c5"), ec2("g4dn")], {"gpus": 2, "vcpus": 8, "memory_mib": 30000}),
    Case("60GiB-on-r6i", [ec2("r6i")], {"vcpus": 8, "memory_mib": 61440}),
    Case("48-vcpus-on-c7i", [ec2("c7i")], {"vcpus": 48, "memory_mib": 65536}),
    Case(
        "reservation-with-one-share",
        [ec2("optimal")],
        {"share": "analytics"},
        [cap("006", "queues.work.fair_share.compute_reservation", "compute_reservation: 10")],
        fair_share={"shares": {"analytics": 1}, "compute_reservation": 10},
    ),
    Case(
        "reservation-with-two-shares",
        [ec2("optimal")],
        {"share": "analytics"},
        fair_share={"shares": {"analytics": 3, "adhoc": 1}, "compute_reservation": 10},
    ),
]


def write(doc: Doc, directory: Path) -> Path:
    path = directory / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def capacity_findings(case: Case, tmp_path: Path) -> tuple[list[Expected], list[str]]:
    """The case's BP-CAP findings as (rule, environment, path, line text), and their messages."""
    path = write(case.document(), tmp_path)
    spec = parse_spec(path.read_text(encoding="utf-8"), path=path, check_images=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    outcome = evaluate(spec, spec.environments, pinned_lock())
    found = [f for f in outcome.findings if f.id.startswith("BP-CAP-")]
    where = [(f.id, f.environment, f.spec_path, lines[f.line - 1].strip() if f.line else "") for f in found]
    return where, [f.message for f in found]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case_gets_exactly_its_findings_at_the_line_a_human_edits(case: Case, tmp_path: Path) -> None:
    where, messages = capacity_findings(case, tmp_path)
    assert sorted(where) == sorted(case.expected)
    if case.message:
        assert len(messages) == 1
        assert case.message in messages[0]


def test_a_fitting_case_trips_no_rule_at_all(tmp_path: Path) -> None:
    path = write(CASES[1].document(), tmp_path)
    spec = parse_spec(path.read_text(encoding="utf-8"), path=path, check_images=False)
    assert evaluate(spec, spec.environments, pinned_lock()).findings == ()


def test_the_example_platform_has_no_capacity_finding() -> None:
    spec = parse_spec(EXAMPLE_SPEC.read_text(encoding="utf-8"), path=EXAMPLE_SPEC, check_images=False)
    outcome = evaluate(spec, spec.environments, pinned_lock())
    assert [f for f in outcome.findings if f.id.startswith("BP-CAP-")] == []
    judged = {p.id for p in outcome.passed if p.id.startswith("BP-CAP-")}
    assert judged == {"BP-CAP-001", "BP-CAP-003", "BP-CAP-004", "BP-CAP-005"}


CLI_CASES = ["8GiB-on-m4.large-only", "fargate-vcpus-not-a-size", "vcpus-over-max-vcpus", "memory-overridden-in-prod"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_check_reports_the_finding_and_exits_4(name: str, tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.name == name]
    path = write(case.document(), tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()

    result = CliRunner().invoke(app, ["check", "--spec-only", "--format", "json", "--spec", str(path)])

    assert result.exit_code == ExitCode.POLICY_FAILED, result.output
    findings = json.loads(result.stdout)["findings"]
    where = [(f["id"], f["environment"], f["spec_path"], lines[f["line"] - 1].strip()) for f in findings]
    assert where == case.expected


@pytest.mark.parametrize("name", CLI_CASES)
def test_validate_leaves_placement_to_the_policy_check(name: str, tmp_path: Path) -> None:
    """Deliberately moved out of the spec checks: a spec that cannot be placed is valid, and `check` judges it."""
    [case] = [c for c in CASES if c.name == name]
    result = CliRunner().invoke(app, ["validate", "--spec", str(write(case.document(), tmp_path))])
    assert result.exit_code == ExitCode.OK, result.output

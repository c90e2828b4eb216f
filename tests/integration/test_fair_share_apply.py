"""Fair share, GPUs and array jobs: the gate passes them, they apply on the local AWS, and
attaching fair share to a queue replaces it.

A small platform (a Fargate and an EC2 compute environment, three queues)
rather than the example, so that the apply stays within a few minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.check import check
from batchplane.images.lock import ImageLock
from batchplane.local.accounts import bootstrap_account, emulator_client
from batchplane.local.workcopy import prepare_workdir
from batchplane.render import compare, render, write
from batchplane.render.roots import weight_factors
from batchplane.spec import load_spec
from batchplane.terraform.runner import TerraformRunner
from batchplane.terraform.summary import summarize
from tests.conftest import REPO

ENV = "dev"
ACCOUNT = "111111111111"
REGION = "eu-west-1"
SHARES = {"analytics": 3, "adhoc": 1}


def small_platform() -> dict[str, Any]:
    """A fair-share queue with two shares (a job on each, one an array job), a FIFO queue, a GPU queue."""
    job = {"image": "worker", "vcpus": 0.25, "memory_mib": 512, "command": ["python", "-m", "worker"], "timeout": "1h"}
    return {
        "version": 1,
        "name": "fs",
        "region": REGION,
        "environments": {
            ENV: {
                "account_id": ACCOUNT,
                "network": {"create": True, "cidr": "10.40.0.0/16", "availability_zones": 1},
                "max_vcpus": 16,
            }
        },
        "compute": {
            "serverless": {"kind": "fargate", "max_vcpus": 4},
            "gpu": {"kind": "ec2", "instance_types": ["g4dn.xlarge"], "max_vcpus": 8},
        },
        "queues": {
            "shared": {
                "priority": 10,
                "compute": ["serverless"],
                "fair_share": {"shares": SHARES, "share_decay_seconds": 3600, "compute_reservation": 10},
            },
            "plain": {"priority": 5, "compute": ["serverless"]},
            "accelerated": {"priority": 1, "compute": ["gpu"]},
        },
        "jobs": {
            "frames": {**job, "queue": "shared", "share": "analytics", "schedule": "cron(0 1 * * ? *)"},
            "tiles": {**job, "queue": "shared", "share": "adhoc", "array_size": 4, "schedule": "rate(6 hours)"},
            "ingest": {
                **job,
                "queue": "plain",
                "array_size": 3,
                "parameters": {"input": "s3://fs-input/incoming/sample.csv"},
                "triggers": [{"s3": {"bucket": "fs-input", "prefix": "incoming/"}}],
            },
            "train": {**job, "queue": "accelerated", "vcpus": 2, "memory_mib": 8192, "gpus": 1},
        },
    }


def render_into(repo: Path, document: dict[str, Any]) -> None:
    (repo / "platform.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    rendered = render(load_spec(repo / "platform.yaml"), ImageLock())
    write(repo, rendered, compare(repo, rendered))


def gate(repo: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """``batchplane check`` of the repository: exit code and findings."""
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.command()(check)

    @app.callback()
    def _main() -> None:
        """Registered like cli.py does."""

    report = repo / "report.json"
    result = CliRunner().invoke(
        app, ["check", "--spec", str(repo / "platform.yaml"), "-f", "json", "-o", str(report), *args]
    )
    findings: list[dict[str, Any]] = json.loads(report.read_text())["findings"]
    return result.exit_code, findings


def unwaived(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if not f["waived"]]


def _plan(runner: TerraformRunner, *args: str) -> int:
    result = runner.run("plan", "-detailed-exitcode", "-no-color", *args, input=False, allowed=(0, 1, 2), timeout=600)
    assert result.returncode != 1, result.stderr
    return result.returncode


@pytest.fixture(scope="module")
def applied(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small platform rendered, applied once, and planned right after."""
    repo = tmp_path_factory.mktemp("fair-share")
    (repo / "modules").symlink_to(REPO / "modules", target_is_directory=True)
    (repo / "policies").symlink_to(REPO / "policies", target_is_directory=True)
    render_into(repo, small_platform())
    bootstrap_account(moto_endpoint, ACCOUNT, REGION)
    work = prepare_workdir(repo, ENV, moto_endpoint, ACCOUNT)
    runner = TerraformRunner(work)
    runner.init()
    runner.run("apply", "-auto-approve", "-no-color", input=False, timeout=900)
    return {"repo": repo, "runner": runner, "replan": _plan(runner), "endpoint": moto_endpoint}


def _batch(applied: dict[str, Any]) -> Any:
    return emulator_client(applied["endpoint"], ACCOUNT, "batch", REGION)


def test_plan_after_apply_is_empty(applied: dict[str, Any]) -> None:
    assert applied["replan"] == 0


def test_the_queue_carries_a_policy_with_the_rendered_weight_factors(applied: dict[str, Any]) -> None:
    batch = _batch(applied)
    [queue] = batch.describe_job_queues(jobQueues=[f"fs-{ENV}-shared"])["jobQueues"]
    [policy] = batch.describe_scheduling_policies(arns=[queue["schedulingPolicyArn"]])["schedulingPolicies"]
    assert policy["name"] == f"fs-{ENV}-shared"
    fair = policy["fairsharePolicy"]
    factors = {s["shareIdentifier"]: s["weightFactor"] for s in fair["shareDistribution"]}
    assert factors == {"adhoc": 3.0, "analytics": 1.0} == weight_factors(SHARES)
    assert (fair["shareDecaySeconds"], fair["computeReservation"]) == (3600, 10)
    assert policy["tags"]["managed-by"] == "batchplane"
    [plain] = batch.describe_job_queues(jobQueues=[f"fs-{ENV}-plain"])["jobQueues"]
    assert "schedulingPolicyArn" not in plain or not plain["schedulingPolicyArn"]


def test_a_gpu_job_definition_reserves_its_gpus(applied: dict[str, Any]) -> None:
    batch = _batch(applied)
    definitions = batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    requirements = {
        d["jobDefinitionName"]: {r["type"]: r["value"] for r in d["containerProperties"]["resourceRequirements"]}
        for d in definitions
    }
    assert requirements[f"fs-{ENV}-train"] == {"GPU": "1", "MEMORY": "8192", "VCPU": "2"}
    assert "GPU" not in requirements[f"fs-{ENV}-frames"]


def test_schedules_submit_with_share_and_array_properties(applied: dict[str, Any]) -> None:
    scheduler = emulator_client(applied["endpoint"], ACCOUNT, "scheduler", REGION)
    frames = json.loads(scheduler.get_schedule(Name=f"fs-{ENV}-frames")["Target"]["Input"])
    tiles = json.loads(scheduler.get_schedule(Name=f"fs-{ENV}-tiles")["Target"]["Input"])
    assert (frames["ShareIdentifier"], "ArrayProperties" in frames) == ("analytics", False)
    assert (tiles["ShareIdentifier"], tiles["ArrayProperties"]) == ("adhoc", {"Size": 4})


def test_s3_triggered_runs_are_array_jobs(applied: dict[str, Any]) -> None:
    events = emulator_client(applied["endpoint"], ACCOUNT, "events", REGION)
    [target] = events.list_targets_by_rule(Rule=f"fs-{ENV}-ingest-s3-0")["Targets"]
    assert target["BatchParameters"]["ArrayProperties"] == {"Size": 3}


def test_adding_fair_share_to_a_queue_is_planned_and_applied_as_its_replacement(applied: dict[str, Any]) -> None:
    document = small_platform()
    document["queues"]["plain"]["fair_share"] = {"shares": {"ingest": 1}}
    # A job on a fair-share queue names its share, and EventBridge cannot pass one: no trigger.
    document["jobs"]["ingest"] = {**document["jobs"]["ingest"], "share": "ingest", "triggers": []}
    repo: Path = applied["repo"]
    render_into(repo, document)
    work = prepare_workdir(repo, ENV, applied["endpoint"], ACCOUNT)
    runner = TerraformRunner(work)
    assert _plan(runner, "-out=fair.tfplan") == 2
    shown_text = runner.run("show", "-json", "fair.tfplan", timeout=300).stdout
    shown = json.loads(shown_text)
    actions = {c["address"]: c["change"]["actions"] for c in shown["resource_changes"]}
    assert sorted(actions['module.queue["plain"].aws_batch_job_queue.this']) == ["create", "delete"]
    assert actions['module.queue["plain"].aws_batch_scheduling_policy.this[0]'] == ["create"]
    assert actions['module.queue["shared"].aws_batch_job_queue.this'] == ["no-op"]
    # What `plan` and summary.json report before apply: a queue replacement, and why.
    [replaced] = summarize(ENV, shown).replacements
    assert (replaced.address, replaced.kind) == ('module.queue["plain"].aws_batch_job_queue.this', "job queue")
    assert replaced.forced_by == ("terraform_data.fair_share (false → true)",)
    assert "Terminated" in replaced.running_jobs
    # The plan gate accepts the plan: the new scheduling policy grants nothing.
    (repo / "fair.json").write_text(shown_text)
    code, findings = gate(repo, "--env", ENV, "--plan", str(repo / "fair.json"))
    assert (code, unwaived(findings)) == (0, [])
    # The replacement applies, the new queue carries the policy, and nothing is left to do.
    runner.run("apply", "-no-color", "fair.tfplan", input=False, timeout=900)
    [plain] = _batch(applied).describe_job_queues(jobQueues=[f"fs-{ENV}-plain"])["jobQueues"]
    assert plain["schedulingPolicyArn"].endswith(f":scheduling-policy/fs-{ENV}-plain")
    assert _plan(runner) == 0


def test_the_gate_passes_fair_share_gpu_and_array_jobs_without_waivers(tmp_path: Path) -> None:
    for name in ("modules", "policies"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    render_into(tmp_path, small_platform())
    code, findings = gate(tmp_path)
    assert (code, unwaived(findings)) == (0, [])
    # Checkov did scan the roots: its findings that the modules accept in place are listed, waived.
    assert any(f["id"].startswith("CKV_") for f in findings)

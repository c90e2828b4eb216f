"""Secure by default: specs with no waivers pass the full `check` (spec rules and real Checkov) with zero findings.

The example, three specs unlike it, and a generated platform of 200 job types.
Every check runs in this pytest process through the CLI, as `batchplane check`
does. ``--fail-on info`` makes exit 0 mean "no unwaived finding of any
severity"; the only waived findings allowed are the modules' own inline skips.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.policy.gate import unpinned_images
from batchplane.spec import load_spec
from tests.conftest import EXAMPLE_SPEC, REPO

runner = CliRunner()
Doc = dict[str, Any]
_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")


def _repository(tmp_path: Path, document: Doc) -> Path:
    """A repository holding ``document`` as its spec, the modules, the custom checks and its rendered roots."""
    repo = tmp_path / "repo"
    repo.mkdir()
    spec = repo / "platform.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    for name in ("modules", "policies"):
        shutil.copytree(REPO / name, repo / name, ignore=_IGNORE)
    for job in document.get("jobs", {}).values():
        (repo / "job_images" / job["image"]).mkdir(parents=True, exist_ok=True)
        (repo / "job_images" / job["image"] / "Dockerfile").write_text("FROM scratch\n")
    rendered = runner.invoke(app, ["render", "--spec", str(spec)])
    assert rendered.exit_code == 0, rendered.output
    return repo


def _check(repo: Path, *args: str) -> tuple[int, Doc]:
    report = repo / "report.json"
    result = runner.invoke(
        app,
        ["check", "--spec", str(repo / "platform.yaml"), "--fail-on", "info", "-f", "json", "-o", str(report), *args],
    )
    assert report.exists(), result.output
    document: Doc = json.loads(report.read_text())
    return result.exit_code, document


def _unwaived(document: Doc) -> list[tuple[str, str, str, str]]:
    return [(f["id"], f["environment"], f["spec_path"], f["message"]) for f in document["findings"] if not f["waived"]]


def _passes_with_nothing_waived(repo: Path, *args: str) -> Doc:
    code, document = _check(repo, *args)
    assert _unwaived(document) == []
    assert code == 0
    # No waiver in the spec: whatever is waived is a reviewed module's inline skip.
    assert document["waivers"] == []
    return document


# --- the example --------------------------------------------------------------


def test_the_example_declares_no_waiver() -> None:
    document = yaml.safe_load(EXAMPLE_SPEC.read_text())
    assert "waivers" not in document.get("policy", {})


def test_the_example_passes_the_full_check_with_no_finding(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(EXAMPLE_SPEC, repo / "platform.yaml")
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(REPO / name, repo / name, ignore=_IGNORE)
    document = _passes_with_nothing_waived(repo)
    answered = {f["id"] for f in document["findings"]}
    # The built-ins the example used to waive are now answered once, in the modules.
    assert {"CKV_AWS_338", "CKV2_AWS_5"} <= answered
    assert "CKV_AWS_297" not in answered, "schedules are encrypted with the environment's key"


# --- specs unlike it ------------------------------------------------------------


def _fargate_external_registry_s3_state() -> Doc:
    """Fargate only, an external registry, the S3 backend, two accounts, schedules and S3 triggers."""
    retry = {"attempts": 3, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]}
    return {
        "version": 1,
        "name": "lab",
        "region": "us-east-1",
        "tags": {"team": "research", "cost-center": "r-42"},
        "state": {"backend": "s3", "s3": {"bucket": "lab-tf-state", "key_prefix": "batch"}},
        "registry": {"type": "external", "url": "registry.lab.internal:5000/lab"},
        "environments": {
            "sandbox": {
                "account_id": "555555555555",
                "network": {"create": True, "cidr": "10.50.0.0/16", "availability_zones": 1},
                "max_vcpus": 64,
            },
            "live": {
                "account_id": "666666666666",
                "tier": "production",
                "network": {"create": True, "cidr": "10.60.0.0/16", "availability_zones": 2},
                "max_vcpus": 64,
                "log_retention_days": 731,
            },
        },
        "compute": {"fg": {"kind": "fargate", "max_vcpus": 16}, "fgs": {"kind": "fargate-spot", "max_vcpus": 16}},
        "queues": {"main": {"priority": 1, "compute": ["fgs", "fg"]}, "now": {"priority": 9, "compute": ["fg"]}},
        "jobs": {
            "score": {
                "image": "scorer",
                "queue": "main",
                "vcpus": 1,
                "memory_mib": 2048,
                "command": ["python", "score.py", "--day", "Ref::day"],
                "parameters": {"day": "2024-01-01"},
                "environment": {"MODEL_URI": "s3://lab-models/scorer/v3/", "THREADS": "4"},
                "timeout": "30m",
                "retry": retry,
                "interruptible": True,
                "access": [{"service": "s3", "actions": ["read", "write"], "resources": ["lab-data/scores/*"]}],
                "schedule": "rate(1 day)",
            },
            "export": {
                "image": "exporter",
                "queue": "now",
                "vcpus": 0.5,
                "memory_mib": 1024,
                "command": ["export", "Ref::input"],
                "parameters": {"input": "s3://lab-data/exports/manual.json"},
                "timeout": "10m",
                "access": [
                    {"service": "s3", "actions": ["read"], "resources": ["lab-data/exports/*"]},
                    {"service": "sqs", "actions": ["write"], "resources": ["lab-exports"]},
                ],
                "triggers": [{"s3": {"bucket": "lab-data", "prefix": "exports/", "suffix": ".json"}}],
            },
        },
    }


def _ec2_production_reused_networks() -> Doc:
    """EC2 only, production tiers only, networks owned by another team, no schedules, no images promoted."""
    retry = {"attempts": 2, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]}
    network = {"vpc_id": "vpc-0f1e2d3c4b5a69788", "subnet_ids": ["subnet-0f1e2d3c4b5a69789"]}
    return {
        "version": 1,
        "name": "fin",
        "region": "eu-central-1",
        "environments": {
            "eu": {
                "account_id": "777777777777",
                "tier": "production",
                "network": {**network, "security_group_ids": ["sg-0f1e2d3c4b5a6978a"]},
                "max_vcpus": 256,
            },
            "eu-dr": {
                "account_id": "888888888888",
                "tier": "production",
                "approval": "required",
                "network": {**network, "security_group_ids": ["sg-0f1e2d3c4b5a6978b"]},
                "max_vcpus": 256,
                "overrides": {"compute": {"spot": {"max_vcpus": 32}}},
            },
        },
        "compute": {
            "spot": {
                "kind": "ec2-spot",
                "instance_types": ["m6i.large", "m6a.large"],
                "allocation_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                "max_vcpus": 64,
            },
            "ondemand": {"kind": "ec2", "instance_types": ["m6i.large"], "max_vcpus": 64, "min_vcpus": 2},
        },
        "queues": {"ledger": {"priority": 50, "compute": ["spot", "ondemand"]}},
        "jobs": {
            "reconcile": {
                "image": "reconcile",
                "queue": "ledger",
                "vcpus": 2,
                "memory_mib": 4096,
                "command": ["java", "-jar", "/app/reconcile.jar", "--ledger", "Ref::ledger"],
                "parameters": {"ledger": "gl-main"},
                "environment": {"JAVA_OPTS": "-Xmx3g", "LEDGER_TABLE": "fin-ledger"},
                "secrets": {"DB_PASSWORD": "arn:aws:ssm:eu-central-1:777777777777:parameter/fin/db-password"},
                "timeout": "4h",
                "retry": retry,
                "interruptible": True,
                "access": [{"service": "dynamodb", "actions": ["read", "write"], "resources": ["table/fin-ledger"]}],
            }
        },
    }


def _no_jobs() -> Doc:
    """Environments with a network and nothing to run yet."""
    return {
        "version": 1,
        "name": "empty",
        "region": "eu-west-1",
        "environments": {
            "dev": {"account_id": "999999999999", "network": {"create": True, "cidr": "10.70.0.0/16"}, "max_vcpus": 8}
        },
    }


SPECS = {
    "fargate-only, external registry, S3 state": _fargate_external_registry_s3_state,
    "EC2-only production, reused networks, no schedules": _ec2_production_reused_networks,
    "an environment with no jobs": _no_jobs,
}


@pytest.mark.parametrize("variant", sorted(SPECS))
def test_a_spec_unlike_the_example_passes_with_no_waiver(variant: str, tmp_path: Path) -> None:
    repo = _repository(tmp_path, SPECS[variant]())
    _passes_with_nothing_waived(repo)


# --- BP-IMG-001: a fresh production platform ------------------------------------


def test_unpinned_production_images_are_no_finding_of_check_but_block_plan(tmp_path: Path) -> None:
    repo = _repository(tmp_path, _ec2_production_reused_networks())
    code, document = _check(repo, "--spec-only")
    assert (code, _unwaived(document)) == (0, [])
    # plan/apply of the production environment still refuse (lifecycle.refuse_unpinned).
    spec = load_spec(repo / "platform.yaml")
    assert [f.spec_path for f in unpinned_images(spec, "eu")] == ["jobs.reconcile.image"]


def test_the_plan_gate_reports_unpinned_production_images(tmp_path: Path) -> None:
    repo = _repository(tmp_path, _ec2_production_reused_networks())
    plan = repo / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "planned_values": {"root_module": {}}}))
    code, document = _check(repo, "--env", "eu", "--plan", str(plan))
    assert code == 4
    assert ("BP-IMG-001", "eu", "jobs.reconcile.image") in {(f[0], f[1], f[2]) for f in _unwaived(document)}


# --- 200 job types ----------------------------------------------------------------

_QUEUES = {
    "batch": ["spot", "ondemand"],
    "steady": ["ondemand"],
    "serverless": ["fspot", "fargate"],
    "urgent": ["fargate"],
    "wide": ["spot", "big"],
}
_ACCESS = [
    ("s3", ["read"], "acme-data/job{i}/in/*"),
    ("s3", ["write", "list"], "acme-data/job{i}/out/*"),
    ("dynamodb", ["read", "write"], "table/acme-t{i}"),
    ("sqs", ["write"], "acme-q{i}"),
    ("sns", ["write"], "acme-topic-{i}"),
    ("ssm", ["read"], "/acme/job{i}/config"),
]


def _job(i: int) -> Doc:
    queue = sorted(_QUEUES)[i % len(_QUEUES)]
    fargate = queue in ("serverless", "urgent")
    spot = queue in ("batch", "wide", "serverless")
    vcpus, memory = [(0.5, 1024), (1, 2048), (2, 4096)][i % 3] if fargate else [(1, 2048), (2, 4096)][i % 2]
    service, verbs, resource = _ACCESS[i % len(_ACCESS)]
    second = _ACCESS[(i + 3) % len(_ACCESS)]
    job: Doc = {
        "image": f"img-{i % 20:02d}",
        "queue": queue,
        "vcpus": vcpus,
        "memory_mib": memory,
        "command": ["python", "-m", f"tasks.t{i}", "--date", "Ref::date", "--table", f"acme-t{i}"],
        "parameters": {"date": "2024-01-01", "input": f"s3://acme-data/job{i}/in/"},
        "environment": {"TABLE_NAME": f"acme-t{i}", "LOG_LEVEL": ["INFO", "DEBUG"][i % 2], "SHARDS": str(i % 7 + 1)},
        "timeout": ["15m", "1h", "6h"][i % 3],
        "interruptible": spot or i % 2 == 0,
        "access": [
            {"service": service, "actions": verbs, "resources": [resource.format(i=i)]},
            {"service": second[0], "actions": second[1], "resources": [second[2].format(i=i)]},
        ],
    }
    if spot:
        job["retry"] = {"attempts": 3, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]}
    elif i % 4 == 1:
        job["retry"] = {"attempts": 2, "on_exit": [{"on_exit_code": "137", "action": "retry"}]}
    if i % 3 == 0:
        job["schedule"] = f"cron({i % 60} {i % 24} * * ? *)"
    elif i % 3 == 1:
        hours = i % 11 + 1
        job["schedule"] = f"rate({hours} {'hour' if hours == 1 else 'hours'})"  # AWS wants the singular for 1
    if i % 10 == 5:
        job["triggers"] = [{"s3": {"bucket": f"acme-in-{i % 4}", "prefix": f"job{i}/", "suffix": ".csv"}}]
    return job


def _two_hundred_jobs() -> Doc:
    return {
        "version": 1,
        "name": "big",
        "region": "eu-west-1",
        "tags": {"owner": "platform-team"},
        "environments": {
            "dev": {
                "account_id": "121212121212",
                "network": {"create": True, "cidr": "10.80.0.0/16"},
                "max_vcpus": 512,
            },
            "prod": {
                "account_id": "343434343434",
                "tier": "production",
                "network": {"create": True, "cidr": "10.90.0.0/16", "availability_zones": 3},
                "max_vcpus": 512,
            },
        },
        "compute": {
            "spot": {"kind": "ec2-spot", "instance_types": ["c6i.large", "c6a.large"], "max_vcpus": 128},
            "ondemand": {"kind": "ec2", "instance_types": ["optimal"], "max_vcpus": 64},
            "big": {"kind": "ec2", "instance_types": ["m6i.2xlarge"], "max_vcpus": 64},
            "fargate": {"kind": "fargate", "max_vcpus": 32},
            "fspot": {"kind": "fargate-spot", "max_vcpus": 32},
        },
        "queues": {name: {"priority": i + 1, "compute": envs} for i, (name, envs) in enumerate(_QUEUES.items())},
        "jobs": {f"job-{i:03d}": _job(i) for i in range(200)},
    }


def test_two_hundred_job_types_get_no_finding(tmp_path: Path) -> None:
    repo = _repository(tmp_path, _two_hundred_jobs())
    started = time.perf_counter()
    document = _passes_with_nothing_waived(repo)
    elapsed = time.perf_counter() - started
    print(f"\nfull check of 200 job types, shared + dev + prod roots: {elapsed:.1f} s")
    log_groups = {(f["environment"], f["address"]) for f in document["findings"] if f["id"] == "CKV_AWS_338"}
    assert len(log_groups) >= 400, "every job's log group was scanned, in both environments"

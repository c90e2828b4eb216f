"""test and prod apply from scratch on the local AWS, stay clean, and destroy completely."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batchplane.spec import load_spec
from tests.conftest import REPO
from tests.integration.lifecycle_support import LocalRepo, make_local_repo

SPEC = load_spec(REPO / "platform.yaml")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path_factory.mktemp("lifecycle-envs") / "repo")
    yield local
    local.run("local", "stop")


def _leftovers(repo: LocalRepo, env: str) -> dict[str, list[str]]:
    account = SPEC.platform.environments[env].account_id
    prefix = f"acme-{env}-"
    batch = repo.client("batch", account)
    iam = repo.client("iam", account)
    ec2 = repo.client("ec2", account)
    logs = repo.client("logs", account)
    return {
        "compute": [
            c["computeEnvironmentName"]
            for c in batch.describe_compute_environments()["computeEnvironments"]
            if c["computeEnvironmentName"].startswith(prefix)
        ],
        "queues": [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]],
        "job definitions": [
            d["jobDefinitionName"] for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
        ],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(prefix)],
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        # Each environment has an account of its own: whatever is left there is a leftover.
        "log groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
    }


def test_production_apply_is_refused_without_approval(repo: LocalRepo) -> None:
    planned = repo.run("plan", "--env", "prod", "--local")
    assert planned.returncode == 0, planned.stderr
    refused = repo.run("apply", "--env", "prod", "--local")
    assert refused.returncode == 4
    assert "--approve-production" in refused.stderr


def test_apply_of_a_stale_plan_is_refused(repo: LocalRepo) -> None:
    assert repo.run("plan", "--env", "test", "--local").returncode == 0
    spec = repo.spec
    spec.write_text(spec.read_text().replace("priority: 100", "priority: 101"))
    try:
        assert repo.run("render").returncode == 0
        refused = repo.run("apply", "--env", "test", "--local")
        assert refused.returncode == 6
        assert "stale" in refused.stderr
    finally:
        spec.write_text(spec.read_text().replace("priority: 101", "priority: 100"))
        assert repo.run("render").returncode == 0


@pytest.mark.parametrize("env", ["test", "prod"])
def test_environment_applies_from_scratch_stays_clean_and_destroys_completely(repo: LocalRepo, env: str) -> None:
    approval = ["--approve-production"] if SPEC.platform.environments[env].needs_approval else []
    assert repo.plan_json(env)["has_changes"] is True
    applied = repo.run("apply", "--env", env, "--local", *approval)
    assert applied.returncode == 0, applied.stderr[-3000:]
    assert f"{env} (local): applied" in applied.stdout

    replan = repo.plan_json(env)
    assert replan["has_changes"] is False, replan["changes"]
    assert Path(replan["plan_json"]).is_file()

    destroyed = repo.run("destroy", "--env", env, "--local", *approval)
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert _leftovers(repo, env) == {
        "compute": [],
        "queues": [],
        "job definitions": [],
        "roles": [],
        "vpcs": [],
        "log groups": [],
    }


def test_local_runs_never_touch_committed_environments(repo: LocalRepo) -> None:
    for env in ("test", "prod"):
        root = repo.root / "environments" / env
        assert not (root / ".terraform").exists()
        assert not list(root.glob("*.tfstate*"))
        assert not (root / "batchplane_local_override.tf").exists()
    assert repo.run("render", "--check").returncode == 0

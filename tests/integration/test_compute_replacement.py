"""Replacing a compute environment on the local AWS: one replacement with its reason, one apply, the queue kept.

dev is applied once; then a change that replaces the ``spot`` compute environment
(new instance types; then a kind change) is planned and applied through the real
CLI. The queue that uses it must keep its ARN and point at the new environment,
the old environment must be gone, and the plan after must be empty.

The local AWS deletes a compute environment whatever still uses it (AWS refuses
while a queue does, "found existing JobQueue relationship"), so the order that
avoids that failure is asserted on terraform's own progress: the queue is
repointed before the old environment is destroyed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.lifecycle_support import LocalRepo, make_local_repo

ENV = "dev"
ACCOUNT = "111111111111"
COMPUTE = 'module.compute["spot"].aws_batch_compute_environment.this'
QUEUE = 'module.queue["default"].aws_batch_job_queue.this'
SPOT = """    kind: ec2-spot
    instance_types: [c6i.large, c6a.large, m6i.large]
    allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED"""
WIDER = SPOT.replace("m6i.large]", "m6i.large, m5.large]")
ON_DEMAND = "    kind: ec2\n    instance_types: [c6i.large, c6a.large, m6i.large, m5.large]"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path_factory.mktemp("compute-replacement") / "repo")
    applied = local.run("apply", "--env", ENV, "--local", "--plan-if-missing")
    assert applied.returncode == 0, applied.stderr[-3000:]
    yield local
    local.run("local", "stop")


def _state(repo: LocalRepo) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The default queue, and every compute environment by ARN."""
    batch = repo.client("batch", ACCOUNT)
    (queue,) = batch.describe_job_queues(jobQueues=[f"acme-{ENV}-default"])["jobQueues"]
    environments = {c["computeEnvironmentArn"]: c for c in batch.describe_compute_environments()["computeEnvironments"]}
    return queue, environments


def _order(queue: dict[str, Any]) -> list[str]:
    return [o["computeEnvironment"] for o in sorted(queue["computeEnvironmentOrder"], key=lambda o: o["order"])]


def _edit(repo: LocalRepo, old: str, new: str) -> None:
    text = repo.spec.read_text(encoding="utf-8")
    assert old in text
    repo.spec.write_text(text.replace(old, new), encoding="utf-8")
    assert repo.run("render").returncode == 0


def _replace_spot(repo: LocalRepo, spec_before: str, spec_after: str, reason: str) -> dict[str, Any]:
    """Change the spot environment's spec; plan, check the one replacement, apply. The new environment."""
    queue, environments = _state(repo)
    old, *rest = _order(queue)
    assert environments[old]["computeEnvironmentName"].startswith(f"acme-{ENV}-spot-")
    _edit(repo, spec_before, spec_after)

    planned = repo.plan_json(ENV)
    assert [(c["address"], c["actions"]) for c in planned["changes"]] == [
        (COMPUTE, ["create", "delete"]),
        (QUEUE, ["update"]),
    ]
    (replaced,) = planned["replacements"]
    assert (replaced["address"], replaced["kind"], replaced["forced_by"]) == (COMPUTE, "compute environment", [reason])
    assert replaced["create_first"] is True
    summary = json.loads((Path(planned["plan_json"]).parent / "summary.json").read_text(encoding="utf-8"))
    assert summary["replacements"] == planned["replacements"]

    applied = repo.run("apply", "--env", ENV, "--local")
    assert applied.returncode == 0, applied.stderr[-3000:]
    progress = applied.stderr
    created = progress.index(f"{COMPUTE}: Creation complete")
    repointed = progress.index(f"{QUEUE}: Modifications complete")
    assert created < repointed < progress.index(f"{COMPUTE}: Destruction complete")

    after, environments = _state(repo)
    new, *kept = _order(after)
    assert after["jobQueueArn"] == queue["jobQueueArn"]
    assert kept == rest
    assert new != old
    assert old not in environments
    assert environments[new]["computeEnvironmentName"].startswith(f"acme-{ENV}-spot-")

    replan = repo.plan_json(ENV)
    assert replan["has_changes"] is False, replan["changes"]
    return environments[new]


def test_new_instance_types_replace_the_environment_in_one_apply(repo: LocalRepo) -> None:
    new = _replace_spot(repo, SPOT, WIDER, "compute_resources[0].instance_type")
    assert sorted(new["computeResources"]["instanceTypes"]) == ["c6a.large", "c6i.large", "m5.large", "m6i.large"]


def test_a_kind_change_replaces_the_environment_in_one_apply(repo: LocalRepo) -> None:
    # Starts where the test above left dev (--dist loadfile keeps a file's tests in order on one worker).
    new = _replace_spot(repo, WIDER, ON_DEMAND, "compute_resources[0].allocation_strategy")
    assert new["computeResources"]["type"] == "EC2"


def test_an_in_place_change_is_an_update_that_converges(repo: LocalRepo) -> None:
    # The ondemand environment (BEST_FIT_PROGRESSIVE, service-linked role) is updated in place: no replacement,
    # and the local AWS keeps the new computeResources, so the plan after the apply is empty.
    ondemand = 'module.compute["ondemand"].aws_batch_compute_environment.this'
    _edit(repo, "    instance_types: [optimal]\n    max_vcpus: 32", "    instance_types: [optimal]\n    max_vcpus: 24")
    planned = repo.plan_json(ENV)
    assert [(c["address"], c["actions"]) for c in planned["changes"]] == [(ondemand, ["update"])]
    assert planned["replacements"] == []
    applied = repo.run("apply", "--env", ENV, "--local")
    assert applied.returncode == 0, applied.stderr[-3000:]
    _, environments = _state(repo)
    [resized] = [c for c in environments.values() if c["computeEnvironmentName"].startswith(f"acme-{ENV}-ondemand-")]
    assert resized["computeResources"]["maxvCpus"] == 24
    replan = repo.plan_json(ENV)
    assert replan["has_changes"] is False, replan["changes"]

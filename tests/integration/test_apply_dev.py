"""The rendered dev root applies on moto, stays clean, and matches the spec when read back (its pipeline too)."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from batchplane.images.lock import ImageLock
from batchplane.local.accounts import bootstrap_account, emulator_client
from batchplane.local.workcopy import prepare_workdir
from batchplane.render.pipelines import definition
from batchplane.render.roots import DEFAULT_TIMEOUT_SECONDS, image_reference
from batchplane.spec import load_spec
from batchplane.terraform.runner import TerraformRunner
from tests.conftest import REPO

ENV = "dev"
PIPELINE = "nightly"


@pytest.fixture(scope="module")
def applied_dev(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """dev applied once to moto from a copy of the repository; plan exit code after apply."""
    repo = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "environments" / ENV, repo / "environments" / ENV)
    shutil.copytree(REPO / "modules", repo / "modules")
    spec = load_spec(REPO / "platform.yaml")
    account = spec.platform.environments[ENV].account_id
    bootstrap_account(moto_endpoint, account, spec.platform.region)
    work = prepare_workdir(repo, ENV, moto_endpoint, account)
    runner = TerraformRunner(work)
    runner.init()
    runner.run("apply", "-auto-approve", "-no-color", input=False, timeout=900)
    replan = runner.run("plan", "-detailed-exitcode", "-no-color", input=False, allowed=(0, 1, 2), timeout=600)
    outputs = json.loads(runner.run("output", "-json", "-no-color", timeout=120).stdout)
    return {"spec": spec, "account": account, "replan": replan, "work": work, "outputs": outputs}


def _client(applied: dict[str, Any], endpoint: str, service: str) -> Any:
    return emulator_client(endpoint, applied["account"], service, applied["spec"].platform.region)


def test_plan_after_apply_shows_no_changes(applied_dev: dict[str, Any]) -> None:
    replan = applied_dev["replan"]
    assert replan.returncode == 0, f"plan after apply is not empty:\n{replan.stdout[-4000:]}"


def test_committed_environments_are_untouched(applied_dev: dict[str, Any]) -> None:
    assert not (REPO / "environments" / ENV / ".terraform").exists()
    assert not (REPO / "environments" / ENV / "terraform.tfstate").exists()
    assert applied_dev["work"].name == ENV


def test_compute_environments_match_the_spec(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    platform = applied_dev["spec"].env(ENV)
    batch = _client(applied_dev, moto_endpoint, "batch")
    found = batch.describe_compute_environments()["computeEnvironments"]
    by_name = {ce["computeEnvironmentName"].removeprefix(f"acme-{ENV}-").rsplit("-", 1)[0]: ce for ce in found}
    kinds = {"ec2": "EC2", "ec2-spot": "SPOT", "fargate": "FARGATE", "fargate-spot": "FARGATE_SPOT"}
    assert set(by_name) == set(platform.compute)
    for name, compute in platform.compute.items():
        resources = by_name[name]["computeResources"]
        assert resources["type"] == kinds[compute.kind], name
        assert resources["maxvCpus"] == compute.max_vcpus, name
        assert by_name[name]["serviceRole"].endswith("/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch")


def test_queues_match_priorities_and_compute_order(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    platform = applied_dev["spec"].env(ENV)
    batch = _client(applied_dev, moto_endpoint, "batch")
    arn_to_name = {
        ce["computeEnvironmentArn"]: ce["computeEnvironmentName"]
        for ce in batch.describe_compute_environments()["computeEnvironments"]
    }
    queues = {q["jobQueueName"]: q for q in batch.describe_job_queues()["jobQueues"]}
    for name, queue in platform.queues.items():
        found = queues[f"acme-{ENV}-{name}"]
        assert found["priority"] == queue.priority
        order = sorted(found["computeEnvironmentOrder"], key=lambda o: o["order"])
        names = [arn_to_name[o["computeEnvironment"]] for o in order]
        assert [n.removeprefix(f"acme-{ENV}-").rsplit("-", 1)[0] for n in names] == list(queue.compute)


def test_job_definitions_match_the_spec(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    platform = applied_dev["spec"].env(ENV)
    batch = _client(applied_dev, moto_endpoint, "batch")
    definitions = {d["jobDefinitionName"]: d for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]}
    for name, job in platform.jobs.items():
        definition = definitions[f"acme-{ENV}-{name}"]
        container = definition["containerProperties"]
        assert container["image"] == image_reference(platform, ImageLock(), job.image, ENV)[0]
        resources = {r["type"]: r["value"] for r in container["resourceRequirements"]}
        assert float(resources["VCPU"]) == job.vcpus
        assert int(resources["MEMORY"]) == job.memory_mib
        assert container["command"] == job.command
        assert definition["timeout"]["attemptDurationSeconds"] == (job.timeout_seconds or DEFAULT_TIMEOUT_SECONDS)
        retry = definition["retryStrategy"]
        assert retry["attempts"] == (job.retry.attempts if job.retry else 1)
        rules = retry["evaluateOnExit"]
        expected = [r.action.upper() for r in (job.retry.on_exit if job.retry else [])] + ["EXIT"]
        assert [r["action"].upper() for r in rules] == expected
        assert rules[-1].get("onReason") == "*"
        assert container["jobRoleArn"] != container["executionRoleArn"]
        platform_kind = "FARGATE" if platform.compute[platform.queues[job.queue].compute[0]].is_fargate else "EC2"
        assert definition["platformCapabilities"] == [platform_kind]
        if job.secrets:
            assert sorted(s["name"] for s in container["secrets"]) == sorted(job.secrets)
        if job.environment:
            env = {e["name"]: e["value"] for e in container["environment"]}
            assert env == job.environment


def test_job_role_policy_grants_what_the_spec_asks(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    iam = _client(applied_dev, moto_endpoint, "iam")
    names = iam.list_role_policies(RoleName=f"acme-{ENV}-csv-ingest-job")["PolicyNames"]
    assert names
    document = iam.get_role_policy(RoleName=f"acme-{ENV}-csv-ingest-job", PolicyName=names[0])["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    actions = set()
    for statement in document["Statement"]:
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    assert {"s3:GetObject", "dynamodb:PutItem"} <= actions
    assert not any("*" in action for action in actions)


def test_schedule_targets_batch_submit_job(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    scheduler = _client(applied_dev, moto_endpoint, "scheduler")
    schedule = scheduler.get_schedule(Name=f"acme-{ENV}-csv-ingest")
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["Target"]["Arn"].endswith(":aws-sdk:batch:submitJob")
    payload = json.loads(schedule["Target"]["Input"])
    assert payload["JobQueue"].endswith(f"job-queue/acme-{ENV}-default")


# --- the example pipeline: its state machine, role and schedule as rendered ---------------


def test_the_state_machine_holds_the_rendered_definition(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    arn = applied_dev["outputs"]["state_machine_arns"]["value"][PIPELINE]
    account, region = applied_dev["account"], applied_dev["spec"].platform.region
    assert arn == f"arn:aws:states:{region}:{account}:stateMachine:acme-{ENV}-{PIPELINE}"
    described = _client(applied_dev, moto_endpoint, "stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "STANDARD"
    assert described["roleArn"].endswith(f":role/acme-{ENV}-{PIPELINE}-sfn")
    assert json.loads(described["definition"]) == definition(applied_dev["spec"].env(ENV), ENV, PIPELINE)


def test_the_arns_in_the_definition_are_the_applied_queues_and_job_definitions(
    applied_dev: dict[str, Any], moto_endpoint: str
) -> None:
    outputs = applied_dev["outputs"]
    document = json.dumps(definition(applied_dev["spec"].env(ENV), ENV, PIPELINE))
    for job in ("csv-ingest", "data-quality", "nightly-report"):
        queue = applied_dev["spec"].env(ENV).jobs[job].queue
        assert json.dumps(outputs["job_queue_arns"]["value"][queue]) in document
        revision = outputs["job_definition_arns"]["value"][job]
        assert json.dumps(revision.rsplit(":", 1)[0]) in document


def test_the_role_may_submit_exactly_the_steps_jobs(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    iam = _client(applied_dev, moto_endpoint, "iam")
    role = f"acme-{ENV}-{PIPELINE}-sfn"
    policy = iam.get_role_policy(RoleName=role, PolicyName="run-steps")["PolicyDocument"]
    submit = next(s for s in policy["Statement"] if s.get("Sid") == "SubmitSteps")
    resources = sorted(submit["Resource"])
    assert len(resources) == 3 + 3 + 3  # 3 queues, 3 definitions, their revisions
    assert all(":job-queue/acme-dev-" in r or ":job-definition/acme-dev-" in r for r in resources)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_the_schedule_starts_the_state_machine(applied_dev: dict[str, Any], moto_endpoint: str) -> None:
    scheduler = _client(applied_dev, moto_endpoint, "scheduler")
    schedule = scheduler.get_schedule(Name=f"acme-{ENV}-{PIPELINE}")
    assert schedule["ScheduleExpression"] == "cron(0 1 * * ? *)"
    assert schedule["Target"]["Arn"] == applied_dev["outputs"]["state_machine_arns"]["value"][PIPELINE]
    assert schedule["Target"]["RoleArn"].endswith(f":role/acme-{ENV}-{PIPELINE}-sched")

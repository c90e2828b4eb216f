"""The dev root with the example pipeline applies on moto: its state machine, role and schedule exist
as rendered, and the plan right after apply is empty."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from batchplane.local.accounts import bootstrap_account, emulator_client
from batchplane.local.workcopy import prepare_workdir
from batchplane.render.pipelines import definition
from batchplane.spec import load_spec
from batchplane.terraform.runner import TerraformRunner
from tests.conftest import REPO

ENV = "dev"
PIPELINE = "nightly"


@pytest.fixture(scope="module")
def applied(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
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
    return {"spec": spec, "account": account, "replan": replan, "outputs": outputs}


def _client(applied: dict[str, Any], endpoint: str, service: str) -> Any:
    return emulator_client(endpoint, applied["account"], service, applied["spec"].platform.region)


def test_the_plan_after_apply_is_empty(applied: dict[str, Any]) -> None:
    replan = applied["replan"]
    assert replan.returncode == 0, f"plan after apply is not empty:\n{replan.stdout[-4000:]}"


def test_the_state_machine_holds_the_rendered_definition(applied: dict[str, Any], moto_endpoint: str) -> None:
    arn = applied["outputs"]["state_machine_arns"]["value"][PIPELINE]
    account, region = applied["account"], applied["spec"].platform.region
    assert arn == f"arn:aws:states:{region}:{account}:stateMachine:acme-{ENV}-{PIPELINE}"
    described = _client(applied, moto_endpoint, "stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert described["type"] == "STANDARD"
    assert described["roleArn"].endswith(f":role/acme-{ENV}-{PIPELINE}-sfn")
    assert json.loads(described["definition"]) == definition(applied["spec"].env(ENV), ENV, PIPELINE)


def test_the_arns_in_the_definition_are_the_applied_queues_and_job_definitions(
    applied: dict[str, Any], moto_endpoint: str
) -> None:
    outputs = applied["outputs"]
    document = json.dumps(definition(applied["spec"].env(ENV), ENV, PIPELINE))
    for job in ("csv-ingest", "data-quality", "nightly-report"):
        queue = applied["spec"].env(ENV).jobs[job].queue
        assert json.dumps(outputs["job_queue_arns"]["value"][queue]) in document
        revision = outputs["job_definition_arns"]["value"][job]
        assert json.dumps(revision.rsplit(":", 1)[0]) in document


def test_the_role_may_submit_exactly_the_steps_jobs(applied: dict[str, Any], moto_endpoint: str) -> None:
    iam = _client(applied, moto_endpoint, "iam")
    role = f"acme-{ENV}-{PIPELINE}-sfn"
    policy = iam.get_role_policy(RoleName=role, PolicyName="run-steps")["PolicyDocument"]
    submit = next(s for s in policy["Statement"] if s.get("Sid") == "SubmitSteps")
    resources = sorted(submit["Resource"])
    assert len(resources) == 3 + 3 + 3  # 3 queues, 3 definitions, their revisions
    assert all(":job-queue/acme-dev-" in r or ":job-definition/acme-dev-" in r for r in resources)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_the_schedule_starts_the_state_machine(applied: dict[str, Any], moto_endpoint: str) -> None:
    scheduler = _client(applied, moto_endpoint, "scheduler")
    schedule = scheduler.get_schedule(Name=f"acme-{ENV}-{PIPELINE}")
    assert schedule["ScheduleExpression"] == "cron(0 1 * * ? *)"
    assert schedule["Target"]["Arn"] == applied["outputs"]["state_machine_arns"]["value"][PIPELINE]
    assert schedule["Target"]["RoleArn"].endswith(f":role/acme-{ENV}-{PIPELINE}-sched")

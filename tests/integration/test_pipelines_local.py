"""Pipelines on the embedded AWS: a Step Functions execution really runs its Batch steps, in order.

The state machines are written here with boto3, as the renderer writes them
(one ``batch:submitJob.sync`` Task per step, named after the step), in an
account that is not moto's default one, as every environment's is. They are
started and followed through :mod:`batchplane.workflows.pipelines`, the code
behind ``pipelines run --wait``; the job containers come from a tiny image
built here from the base image.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from batchplane.errors import ExitCode
from batchplane.images.build import docker_client
from batchplane.local.accounts import bootstrap_account, emulator_client
from batchplane.workflows import jobs, pipelines
from batchplane.workflows.pipeline_history import NOT_RUN

pytestmark = pytest.mark.integration

ACCOUNT = "210987654321"
REGION = "eu-west-1"
QUEUE = "pipeline-queue"
COMMANDS = {
    "step-a": "print('a done')",
    "step-b": "import os; print('index', os.environ.get('AWS_BATCH_JOB_ARRAY_INDEX'))",
    "step-c": "print('c done')",
    "step-fails": "import sys; print('failing'); sys.exit(1)",
    "step-after": "print('never runs')",
}


@dataclass(frozen=True)
class Stack:
    clients: pipelines.Clients
    logs: Any
    machines: dict[str, str]  # name -> ARN


def _task(step: str, job: str, following: str | None, array_size: int | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"JobName": job, "JobQueue": QUEUE, "JobDefinition": job}
    if array_size:
        parameters["ArrayProperties"] = {"Size": array_size}
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": parameters,
        "ResultPath": f"$.{step}",
    }
    state.update({"Next": following} if following else {"End": True})
    return state


def _chain(*steps: tuple[str, str, int | None]) -> str:
    names = [name for name, _, _ in steps]
    states = {
        name: _task(name, job, names[i + 1] if i + 1 < len(names) else None, size)
        for i, (name, job, size) in enumerate(steps)
    }
    return json.dumps({"StartAt": names[0], "States": states})


@pytest.fixture(scope="module")
def step_image() -> Iterator[str]:
    engine = docker_client()
    base = os.environ.get("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")
    tag = f"batchplane-test/pipeline-step:{uuid.uuid4().hex[:12]}"
    for chunk in engine.build(fileobj=io.BytesIO(f"FROM {base}\n".encode()), tag=tag, rm=True, decode=True):
        assert "error" not in chunk, chunk
    yield tag
    engine.remove_image(tag)


@pytest.fixture(scope="module")
def stack(moto_endpoint: str, step_image: str) -> Stack:
    """A queue, a job definition per command, and pipelines: a -> b[3] -> c, a -> fails -> after, fails[2] -> after."""
    bootstrap_account(moto_endpoint, ACCOUNT, REGION)

    def client(service: str) -> Any:
        return emulator_client(moto_endpoint, ACCOUNT, service, REGION)

    ec2, batch, iam, sfn = client("ec2"), client("batch"), client("iam"), client("stepfunctions")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="pipeline", Description="pipeline", VpcId=vpc)["GroupId"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="pipeline-compute",
        type="MANAGED",
        state="ENABLED",
        computeResources={"type": "FARGATE", "maxvCpus": 8, "subnets": [subnet], "securityGroupIds": [group]},
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch",
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName=QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    for name, code in COMMANDS.items():
        batch.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={
                "image": step_image,
                "command": ["python3", "-c", code],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
            },
        )
    role = iam.create_role(RoleName="pipeline-states", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definitions = {
        "acme-dev-nightly": _chain(("a", "step-a", None), ("b", "step-b", 3), ("c", "step-c", None)),
        "acme-dev-broken": _chain(("a", "step-a", None), ("fails", "step-fails", None), ("after", "step-after", None)),
        "acme-dev-broken-array": _chain(("fans-out", "step-fails", 2), ("after", "step-after", None)),
    }
    machines = {
        name: sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        for name, definition in definitions.items()
    }
    return Stack(pipelines.Clients(sfn, batch), client("logs"), machines)


def _run(stack: Stack, machine: str) -> pipelines.Execution:
    """What `pipelines run --wait` does: find the state machine by name, start it, follow it."""
    arn = pipelines.start(
        stack.clients.stepfunctions, pipelines.find_state_machine(stack.clients.stepfunctions, machine), "run"
    )
    seen: list[str] = []
    final = pipelines.follow(stack.clients, arn, poll=0.5, timeout=240, on_change=lambda e: seen.append(e.status))
    assert seen[-1] == final.status
    return final


def _at(stamp: str | None) -> datetime:
    assert stamp is not None
    return datetime.fromisoformat(stamp)


@pytest.fixture(scope="module")
def succeeded(stack: Stack) -> pipelines.Execution:
    return _run(stack, "acme-dev-nightly")


def test_a_pipeline_runs_every_step_in_dependency_order(succeeded: pipelines.Execution) -> None:
    assert succeeded.status == "SUCCEEDED", succeeded
    assert succeeded.failed_step is None
    a, b, c = succeeded.steps
    assert [a.name, b.name, c.name] == ["a", "b", "c"]
    assert [a.status, b.status, c.status] == ["SUCCEEDED"] * 3
    assert [a.job_name, b.job_name, c.job_name] == ["step-a", "step-b", "step-c"]
    # Each step's job was submitted only once the step before had stopped (Batch's own timestamps).
    assert _at(a.stopped_at) <= _at(b.created_at)
    assert _at(b.stopped_at) <= _at(c.created_at)
    assert _at(a.started_at) <= _at(a.stopped_at) <= _at(b.started_at) <= _at(b.stopped_at) <= _at(c.started_at)


def test_the_array_step_ran_its_children(succeeded: pipelines.Execution) -> None:
    b = succeeded.steps[1]
    assert b.array_size == 3
    assert [child.index for child in b.children] == [0, 1, 2]
    assert [child.job_id for child in b.children] == [f"{b.job_id}:{index}" for index in range(3)]
    assert [child.status for child in b.children] == ["SUCCEEDED"] * 3
    a, c = succeeded.steps[0], succeeded.steps[2]
    for child in b.children:
        assert _at(a.stopped_at) <= _at(child.started_at) <= _at(child.stopped_at) <= _at(c.created_at)


def test_each_array_child_learned_its_own_index(stack: Stack, succeeded: pipelines.Execution) -> None:
    job_clients = jobs.Clients(stack.clients.batch, stack.logs)
    printed = []
    for child in succeeded.steps[1].children:
        lines = list(jobs.log_lines(job_clients.logs, jobs.status(job_clients.batch, child.job_id)))
        printed.append([line for line in lines if line.startswith("index ")])
    assert printed == [["index 0"], ["index 1"], ["index 2"]]


def test_a_failing_step_stops_its_dependents_and_fails_the_pipeline(stack: Stack) -> None:
    failed = _run(stack, "acme-dev-broken")
    assert failed.status == "FAILED"
    assert failed.failed_step == "fails"
    a, fails, after = failed.steps
    assert a.status == "SUCCEEDED"
    assert fails.status == "FAILED"
    assert fails.job_id is not None
    # moto's DescribeJobs drops the container's exit code (AWS reports it): fails.exit_code is None here.
    assert after.status == NOT_RUN
    assert after.job_id is None
    submitted = {
        job["jobName"]
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
        for job in stack.clients.batch.list_jobs(jobQueue=QUEUE, jobStatus=status)["jobSummaryList"]
    }
    assert "step-fails" in submitted
    assert "step-after" not in submitted  # its dependent was never submitted
    error = pipelines.failure(failed)
    assert error.exit_code == ExitCode.TOOL_FAILED
    assert "acme-dev-broken" in str(error)
    assert f"FAILED at step fails: job step-fails ({fails.job_id}) FAILED" in str(error)


def test_an_array_step_with_failed_children_fails_the_pipeline(stack: Stack) -> None:
    failed = _run(stack, "acme-dev-broken-array")
    assert failed.status == "FAILED"
    assert failed.failed_step == "fans-out"
    fans_out, after = failed.steps
    assert fans_out.status == "FAILED"
    assert [child.status for child in fans_out.children] == ["FAILED", "FAILED"]
    assert fans_out.stopped_at == max(child.stopped_at or "" for child in fans_out.children)
    assert after.status == NOT_RUN

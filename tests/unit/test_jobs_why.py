"""`jobs why`: the diagnosis of boto3-shaped answers, the AWS reading with refusals, and the command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from typer.testing import CliRunner

from batchplane.capacity.placement import Demand
from batchplane.cli.app import app
from batchplane.workflows.diagnose import Facts, diagnose, explain, lines
from batchplane.workflows.diagnose_fit import fit, needs
from batchplane.workflows.diagnose_read import gather
from tests.conftest import REPO

QUEUE_ARN = "arn:aws:batch:eu-west-1:111111111111:job-queue/acme-dev-default"
CE_ARN = "arn:aws:batch:eu-west-1:111111111111:compute-environment/acme-dev-small"
M4_LARGE = "m4.large (2 vCPU, 7953 MiB usable of 8192 MiB, no GPU)"


def job(
    status: str = "RUNNABLE", vcpus: str = "1", memory: str = "2048", gpus: str | None = None, **extra: Any
) -> dict[str, Any]:
    requirements = [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}]
    if gpus is not None:
        requirements.append({"type": "GPU", "value": gpus})
    container = {"resourceRequirements": requirements, **extra.pop("container", {})}
    return {
        "jobId": "j-1",
        "jobName": "acme-dev-ingest",
        "jobQueue": QUEUE_ARN,
        "status": status,
        "createdAt": 1_764_536_400_000,
        "jobDefinition": "arn:aws:batch:eu-west-1:111111111111:job-definition/acme-dev-ingest:1",
        "container": container,
        **extra,
    }


def queue(state: str = "ENABLED", status: str = "VALID", reason: str = "JobQueue Healthy") -> dict[str, Any]:
    return {
        "jobQueueName": "acme-dev-default",
        "jobQueueArn": QUEUE_ARN,
        "state": state,
        "status": status,
        "statusReason": reason,
        "priority": 1,
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": CE_ARN}],
    }


def compute(
    types: list[str] | None = None,
    kind: str = "EC2",
    max_vcpus: int = 16,
    desired: int = 0,
    state: str = "ENABLED",
    status: str = "VALID",
    reason: str = "ComputeEnvironment Healthy",
) -> dict[str, Any]:
    resources: dict[str, Any] = {"type": kind, "maxvCpus": max_vcpus, "desiredvCpus": desired, "subnets": ["subnet-1"]}
    if kind not in ("FARGATE", "FARGATE_SPOT"):
        resources["instanceTypes"] = types or ["m4.large"]
    return {
        "computeEnvironmentName": "acme-dev-small",
        "computeEnvironmentArn": CE_ARN,
        "type": "MANAGED",
        "state": state,
        "status": status,
        "statusReason": reason,
        "computeResources": resources,
    }


def why(described: dict[str, Any], *computes: dict[str, Any], **facts: Any) -> Any:
    facts.setdefault("queue", queue())
    return diagnose(Facts(job=described, compute=computes or (compute(),), **facts))


# --- placement ----------------------------------------------------------------------------


def test_memory_no_instance_type_holds_cannot_be_placed() -> None:
    found = why(job(memory="16384"), compute(["m4.large"]))
    assert found.cause == "unplaceable"
    assert found.verdict == (
        f"cannot be placed: needs 16384 MiB memory; the largest instance type tried, {M4_LARGE}, does not hold it"
    )
    assert found.compute[0]["fits"] is False


def test_eight_gib_does_not_fit_an_m4_large_after_the_ecs_reservation() -> None:
    assert why(job(memory="8192"), compute(["m4.large"])).cause == "unplaceable"
    assert why(job(memory="7953"), compute(["m4.large"])).cause == "waiting-capacity"


def test_a_gpu_job_on_instances_without_gpus() -> None:
    found = why(job(gpus="1"), compute(["c5"]))
    assert found.cause == "unplaceable"
    assert "needs 1 GPU; no instance type of it has GPUs (largest: c5.metal (96 vCPU" in found.verdict


def test_a_gpu_job_fits_a_gpu_family() -> None:
    placed = fit(Demand(4, 15000, 1), compute(["g4dn"]))
    assert placed.fits is True
    assert placed.reason.startswith("fits g4dn.xlarge (4 vCPU")


def test_more_vcpus_than_the_compute_environments_max() -> None:
    found = why(job(vcpus="8"), compute(["c5"], max_vcpus=4))
    assert (found.cause, found.verdict) == ("unplaceable", "cannot be placed: needs 8 vCPU, above its maxvCpus 4")


def test_optimal_is_expanded_the_way_batch_expands_it() -> None:
    found = why(job(memory="2000000"), compute(["optimal"], max_vcpus=256))
    assert found.cause == "unplaceable"
    assert "the largest instance type tried, r6i.metal (128 vCPU, 1022048 MiB" in found.verdict


@pytest.mark.parametrize(
    ("vcpus", "memory", "fits", "reason"),
    [
        ("3", "8192", False, "3 vCPU is not a Fargate size: use one of 0.25, 0.5, 1, 2, 4, 8, 16"),
        ("1", "1024", False, "1024 MiB does not pair with 1 vCPU on Fargate: use 2048..8192 in steps of 1024"),
        ("0.5", "1024", True, "Fargate size 0.5 vCPU / 1024 MiB exists"),
    ],
)
def test_fargate_sizes(vcpus: str, memory: str, fits: bool, reason: str) -> None:
    placed = fit(needs(job(vcpus=vcpus, memory=memory)["container"]), compute(kind="FARGATE"))  # type: ignore[arg-type]
    assert (placed.fits, placed.reason) == (fits, reason)


def test_a_gpu_job_on_fargate_cannot_be_placed() -> None:
    assert fit(Demand(1, 2048, 1), compute(kind="FARGATE_SPOT")).reason == "needs 1 GPU: Fargate has no GPUs"


def test_unknown_instance_types_are_unknown_not_unplaceable() -> None:
    found = why(job(memory="16384"), compute(["m4.large", "zz9.huge"]))
    assert found.compute[0]["fits"] is None
    assert "not in the instance catalogue: zz9.huge" in found.compute[0]["fit"]
    assert found.cause != "unplaceable"


def test_unmanaged_compute_is_not_judged() -> None:
    unmanaged = {"computeEnvironmentName": "own", "type": "UNMANAGED", "state": "ENABLED", "status": "VALID"}
    assert fit(Demand(1, 2048, 0), unmanaged).fits is None


def test_the_older_vcpus_and_memory_fields_are_read_when_there_are_no_requirements() -> None:
    assert needs({"vcpus": 2, "memory": 4096}) == Demand(2, 4096, 0)
    assert needs({"command": ["x"]}) is None


# --- queue and compute states, capacity ----------------------------------------------------


def test_an_invalid_compute_environment_with_its_reason() -> None:
    broken = compute(status="INVALID", reason="CLIENT_ERROR - the instance profile does not exist")
    found = why(job(), broken)
    assert found.cause == "compute-unusable"
    assert found.verdict == (
        "no usable compute environment: acme-dev-small ENABLED, INVALID "
        "(CLIENT_ERROR - the instance profile does not exist)"
    )


def test_a_disabled_queue() -> None:
    found = why(job(), queue=queue(state="DISABLED"))
    assert (found.cause, found.verdict) == (
        "queue-disabled",
        "queue acme-dev-default is DISABLED: it refuses new jobs",
    )


def test_an_invalid_queue() -> None:
    found = why(job(), queue=queue(status="INVALID", reason="CLIENT_ERROR - compute environment deleted"))
    assert found.verdict == "queue acme-dev-default is INVALID: CLIENT_ERROR - compute environment deleted"


def test_a_job_that_fits_on_full_compute_waits_for_capacity() -> None:
    found = why(job(vcpus="2"), compute(max_vcpus=16, desired=16))
    assert found.verdict == "waiting for capacity: the compute that can hold it is at its maxvCpus"
    headroom = why(job(vcpus="2"), compute(max_vcpus=16, desired=4))
    assert headroom.verdict.startswith("waiting for capacity: the queue and its compute can hold it")
    assert headroom.compute[0]["desired_vcpus"] == 4


def test_a_blocked_queue_reason_from_batch_is_the_verdict_and_explained() -> None:
    reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for m4.large"
    found = why(job(statusReason=reason))
    assert found.verdict == f"blocked: {reason}"
    assert found.explanations == ["EC2 has no capacity for the instance types allowed: allow more types or zones"]


# --- failures, dependencies, endings ------------------------------------------------------------


def test_an_image_pull_error_is_explained() -> None:
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
    found = why(job("FAILED", statusReason=reason))
    assert (found.cause, found.verdict) == ("image-or-credentials", f"failed before it ran: {reason}")
    assert found.explanations[0].startswith("the image could not be pulled")


@pytest.mark.parametrize(
    ("reason", "start"),
    [
        ("ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException", "a secret"),
        ("ResourceInitializationError: failed to validate logger args", "the container could not be set up"),
        ('CannotStartContainerError: exec: "pyhton": executable file not found', "the container did not start"),
        ("OutOfMemoryError: Container killed due to memory usage", "the container used more memory"),
        ("Host EC2 (instance i-0abc) terminated.", "the instance went away"),
        ("AccessDeniedException: User is not authorized to perform ecr:BatchGetImage", "a permission was refused"),
        ("Essential container in task exited", None),
    ],
)
def test_reasons_batch_gives_are_explained(reason: str, start: str | None) -> None:
    text = explain(reason)
    assert (text if start is None else (text or "").split(":")[0][: len(start)]) == start


def test_a_failed_job_shows_its_exit_code_and_reason() -> None:
    attempt = {"container": {"exitCode": 1, "logStreamName": "s"}, "startedAt": 1, "stoppedAt": 2}
    described = job(
        "FAILED", statusReason="Essential container in task exited", container={"exitCode": 1}, attempts=[attempt]
    )
    found = why(described, logs=("reading input", "Traceback (most recent call last):", "ValueError: no rows"))
    assert (found.cause, found.verdict) == ("failed", "failed: exit code 1 (Essential container in task exited)")
    assert found.job["exit_code"] == 1
    assert found.logs[-1] == "ValueError: no rows"


def test_the_exit_code_comes_from_the_job_summary_when_the_description_lacks_it() -> None:
    found = why(job("FAILED"), summary={"jobId": "j-1", "container": {"exitCode": 2}})
    assert found.verdict == "failed: exit code 2"


def test_a_pending_job_waits_on_its_dependency() -> None:
    dependency = {"jobId": "j-0", "jobName": "acme-dev-extract", "status": "RUNNABLE"}
    found = why(job("PENDING", dependsOn=[{"jobId": "j-0"}]), dependencies=(dependency,))
    assert (found.cause, found.verdict) == (
        "waiting-dependency",
        "waiting on dependency acme-dev-extract (j-0): RUNNABLE",
    )
    failed = why(job("PENDING", dependsOn=[{"jobId": "j-0"}]), dependencies=(dependency | {"status": "FAILED"},))
    assert failed.verdict == "will not run: dependency acme-dev-extract (j-0) FAILED"


def test_a_succeeded_and_a_running_job() -> None:
    assert why(job("SUCCEEDED", container={"exitCode": 0})).verdict == "succeeded (exit code 0)"
    assert why(job("RUNNING", startedAt=1_764_536_460_000)).verdict == "running since 2025-11-30T21:01:00Z"


def test_array_children_are_counted_and_runnable_children_diagnosed() -> None:
    array = {"size": 10, "statusSummary": {"RUNNABLE": 8, "RUNNING": 2, "SUCCEEDED": 0}}
    found = why(job("PENDING", memory="16384", arrayProperties=array))
    assert found.verdict.startswith("cannot be placed: needs 16384 MiB memory")
    assert found.verdict.endswith("[array: 8 RUNNABLE, 2 RUNNING]")


# --- unknown facts ----------------------------------------------------------------------------


def test_an_unreadable_queue_is_unknown_not_fine() -> None:
    found = diagnose(Facts(job=job(), unknown={"queue": "DescribeJobQueues: AccessDeniedException: no"}))
    assert found.cause == "unknown"
    assert found.verdict.endswith("its queue could not be read: DescribeJobQueues: AccessDeniedException: no")
    assert found.unknown["queue"].startswith("DescribeJobQueues")


def test_unreadable_compute_is_unknown_not_waiting_for_capacity() -> None:
    reason = "DescribeComputeEnvironments: AccessDeniedException: no"
    found = diagnose(Facts(job=job(), queue=queue(), unknown={"compute": reason}))
    assert (found.cause, found.verdict) == ("unknown", f"waiting to be placed; its compute could not be read: {reason}")


def test_compute_whose_fit_is_unknown_is_not_said_to_hold_it() -> None:
    found = why(job(), compute(["zz9.huge"]))
    assert found.cause == "unknown"
    assert "can hold it is unknown" in found.verdict


def test_a_job_without_a_reservation_says_so() -> None:
    described = job()
    described["container"] = {"command": ["x"]}
    found = why(described)
    assert found.job["needs"] is None
    assert "needs" in found.unknown
    assert found.compute[0]["fits"] is None


def test_the_screen_starts_with_the_verdict() -> None:
    shown = lines(why(job(memory="16384")))
    assert shown[0].startswith("cannot be placed:")
    assert "queue     acme-dev-default: ENABLED, VALID (JobQueue Healthy)" in shown
    assert any(line.startswith("compute 1 acme-dev-small: ENABLED, VALID") and "[m4.large]" in line for line in shown)
    assert "          needs 1 vCPU, 16384 MiB, no GPU" in shown


# --- reading AWS ----------------------------------------------------------------------------


def test_a_refused_call_is_recorded_as_unknown() -> None:
    batch = boto3.client("batch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    logs = boto3.client("logs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(batch) as stubbed:
        stubbed.add_response("describe_jobs", {"jobs": [job(startedAt=0)]}, {"jobs": ["j-1"]})
        stubbed.add_client_error(
            "describe_job_queues", "AccessDeniedException", "not authorized to DescribeJobQueues", 403
        )
        facts = gather(batch, logs, "j-1")
    assert facts.queue is None
    assert facts.unknown == {"queue": "DescribeJobQueues: AccessDeniedException: not authorized to DescribeJobQueues"}
    assert diagnose(facts).cause == "unknown"


def _stubbed() -> tuple[Any, Any]:
    credentials = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return boto3.client("batch", **credentials), boto3.client("logs", **credentials)


def test_compute_is_read_in_the_queues_order_and_a_refused_log_read_is_unknown() -> None:
    batch, logs = _stubbed()
    second = CE_ARN.replace("small", "spot")
    ordered = queue() | {
        "computeEnvironmentOrder": [
            {"order": 2, "computeEnvironment": CE_ARN},
            {"order": 1, "computeEnvironment": second},
        ]
    }
    spot = compute() | {"computeEnvironmentName": "acme-dev-spot", "computeEnvironmentArn": second}
    attempt = {"container": {"logStreamName": "acme-dev-ingest/default/j-1"}, "startedAt": 1}
    with Stubber(batch) as batch_stub, Stubber(logs) as logs_stub:
        batch_stub.add_response("describe_jobs", {"jobs": [job("RUNNING", startedAt=1, attempts=[attempt])]})
        batch_stub.add_response("describe_job_queues", {"jobQueues": [ordered]})
        batch_stub.add_response(
            "describe_compute_environments",
            {"computeEnvironments": [compute(), spot]},
            {"computeEnvironments": [second, CE_ARN]},
        )
        logs_stub.add_client_error("get_log_events", "AccessDeniedException", "not authorized to GetLogEvents", 403)
        facts = gather(batch, logs, "j-1")
    assert [c["computeEnvironmentName"] for c in facts.compute] == ["acme-dev-spot", "acme-dev-small"]
    assert facts.logs is None
    assert "not authorized to GetLogEvents" in facts.unknown["logs"]


def test_a_deleted_queue_is_unknown_with_the_reason() -> None:
    batch, logs = _stubbed()
    with Stubber(batch) as stubbed:
        stubbed.add_response("describe_jobs", {"jobs": [job(startedAt=0)]})
        stubbed.add_response("describe_job_queues", {"jobQueues": []})
        facts = gather(batch, logs, "j-1")
    assert facts.unknown == {"queue": f"{QUEUE_ARN} no longer exists"}
    assert diagnose(facts).verdict == f"waiting to be placed; its queue could not be read: {QUEUE_ARN} no longer exists"


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


def test_the_command_reads_aws_and_prints_the_verdict_first(aws: None) -> None:
    batch = boto3.client("batch", region_name="eu-west-1")
    role = boto3.client("iam", region_name="eu-west-1").create_role(RoleName="batch", AssumeRolePolicyDocument="{}")
    made = batch.create_compute_environment(
        computeEnvironmentName="acme-dev-own", type="UNMANAGED", state="ENABLED", serviceRole=role["Role"]["Arn"]
    )
    batch.create_job_queue(
        jobQueueName="acme-dev-default",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": made["computeEnvironmentArn"]}],
    )
    batch.register_job_definition(
        jobDefinitionName="acme-dev-ingest",
        type="container",
        containerProperties={
            "image": "x",
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
    )
    job_id = batch.submit_job(jobName="acme-dev-ingest", jobQueue="acme-dev-default", jobDefinition="acme-dev-ingest")[
        "jobId"
    ]
    runner = CliRunner()
    spec = str(REPO / "platform.yaml")
    text = runner.invoke(app, ["jobs", "why", job_id, "--env", "dev", "--spec", spec])
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0] == "succeeded"
    document = json.loads(runner.invoke(app, ["jobs", "why", job_id, "--env", "dev", "--spec", spec, "--json"]).stdout)
    assert (document["cause"], document["queue"]["name"], document["compute"][0]["name"]) == (
        "succeeded",
        "acme-dev-default",
        "acme-dev-own",
    )


def test_the_command_says_when_there_is_no_such_job(aws: None) -> None:
    answer = CliRunner().invoke(app, ["jobs", "why", "nope", "--env", "dev", "--spec", str(REPO / "platform.yaml")])
    assert answer.exit_code == 2
    assert "no job with id nope" in answer.stderr

"""On the embedded AWS, what the platform defines really happens, as on AWS (issue 16, acceptance 2).

Against the product's own local AWS (``python -m batchplane.local.server``, the
``moto_endpoint`` fixture), with boto3 and the base image every job image is
built from: array children see their own index, retry strategies are applied,
job state changes reach an SQS queue through an EventBridge rule, schedules fire
(by the accelerated clock and by the fire control), and an S3 upload submits the
job of a rule with a Batch target, the object's key as its parameter. Every job
is submitted first and awaited afterwards, so they run concurrently.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from batchplane.errors import ToolError
from batchplane.images.build import docker_client
from batchplane.local.controls import fire_schedule, move_clock

pytestmark = pytest.mark.integration

REGION = "us-east-1"
IMAGE = os.environ.get("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")
SUBMIT_JOB = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
DONE = ("SUCCEEDED", "FAILED")


@dataclass
class Local:
    endpoint: str
    queue_arn: str
    role_arn: str
    clients: dict[str, Any]

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = boto3.client(
                name,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="batchplane-local",
                aws_secret_access_key="batchplane-local",
            )
        return self.clients[name]

    def job_definition(self, name: str, script: str, **extra: Any) -> str:
        """A container job definition running ``sh -c script`` in the base image; returns its ARN prefix."""
        answer = self.client("batch").register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={
                "image": IMAGE,
                "command": ["sh", "-c", script],
                "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}],
            },
            **extra,
        )
        return str(answer["jobDefinitionArn"]).rsplit(":", 1)[0]

    def submit(self, name: str, definition: str, **extra: Any) -> str:
        answer = self.client("batch").submit_job(
            jobName=name, jobQueue=self.queue_arn, jobDefinition=definition, **extra
        )
        return str(answer["jobId"])


def eventually(probe: Callable[[], Any], what: str, timeout: float = 180) -> Any:
    """``probe()``'s first truthy answer, polled every second until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def describe(local: Local, job_id: str) -> dict[str, Any]:
    jobs: list[dict[str, Any]] = local.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    assert jobs, f"no job {job_id}"
    return jobs[0]


def finished(local: Local, job_id: str, timeout: float = 180) -> dict[str, Any]:
    return dict(
        eventually(
            lambda: (job := describe(local, job_id))["status"] in DONE and job, f"job {job_id} to finish", timeout
        )
    )


def log_lines(local: Local, job: dict[str, Any]) -> list[str]:
    stream = job["container"]["logStreamName"]
    events = local.client("logs").get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
    return [str(event["message"]) for event in events]


def jobs_named(local: Local, name: str) -> list[dict[str, Any]]:
    listed = local.client("batch").list_jobs(jobQueue=local.queue_arn, filters=[{"name": "JOB_NAME", "values": [name]}])
    return list(listed["jobSummaryList"])


@pytest.fixture(scope="module")
def local(moto_endpoint: str) -> Local:
    docker_client().inspect_image(IMAGE)  # fails (never skips) without the engine or the base image
    env = Local(moto_endpoint, "", "", {})
    iam = env.client("iam")
    service = iam.create_role(
        RoleName="AWSServiceRoleForBatch",
        Path="/aws-service-role/batch.amazonaws.com/",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    env.role_arn = iam.create_role(
        RoleName="fidelity-submitter", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    batch = env.client("batch")
    compute = batch.create_compute_environment(
        computeEnvironmentName="fidelity", type="UNMANAGED", state="ENABLED", serviceRole=service
    )["computeEnvironmentArn"]
    env.queue_arn = batch.create_job_queue(
        jobQueueName="fidelity",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
    )["jobQueueArn"]
    return env


@pytest.fixture(scope="module")
def events_queue(local: Local) -> str:
    """An SQS queue receiving every SUCCEEDED Batch job state change through an EventBridge rule."""
    sqs = local.client("sqs")
    url = sqs.create_queue(QueueName="batch-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = local.client("events")
    pattern = {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"], "detail": {"status": ["SUCCEEDED"]}}
    events.put_rule(Name="batch-succeeded", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="batch-succeeded", Targets=[{"Id": "sqs", "Arn": arn}])
    return str(url)


@pytest.fixture(scope="module")
def submitted(local: Local, events_queue: str) -> dict[str, str]:
    """Every job of the module, submitted at once so that they run side by side."""
    array = local.job_definition("array-index", "echo index=$AWS_BATCH_JOB_ARRAY_INDEX size=$AWS_BATCH_JOB_ARRAY_SIZE")
    failing = local.job_definition(
        "fails-retryable",
        "echo attempt=$AWS_BATCH_JOB_ATTEMPT; exit 1",
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": "2", "action": "EXIT"}]},
    )
    exiting = local.job_definition(
        "fails-exit",
        "exit 3",
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": "3*", "action": "exit"}]},
    )
    return {
        "array": local.submit("array-index", array, arrayProperties={"size": 3}),
        "retried": local.submit("fails-retryable", failing),
        "exited": local.submit("fails-exit", exiting),
    }


def test_array_children_see_their_own_index(local: Local, submitted: dict[str, str]) -> None:
    parent = submitted["array"]
    seen = []
    for index in range(3):
        child = finished(local, f"{parent}:{index}")
        assert child["status"] == "SUCCEEDED"
        seen.append(log_lines(local, child))
    assert seen == [[f"index={index} size=3"] for index in range(3)]
    assert eventually(lambda: describe(local, parent)["status"] == "SUCCEEDED", "the array parent to succeed")


def test_a_retryable_failure_runs_every_attempt_then_fails(local: Local, submitted: dict[str, str]) -> None:
    job = finished(local, submitted["retried"], timeout=240)
    assert job["status"] == "FAILED"
    assert [attempt["container"]["exitCode"] for attempt in job["attempts"]] == [1, 1, 1]
    assert all(attempt["statusReason"] == "Essential container in task exited" for attempt in job["attempts"])
    assert "attempt=1" in log_lines(local, job)[0]  # attempts share the stream, in order
    assert [line for line in log_lines(local, job) if line.startswith("attempt=")] == [
        "attempt=1",
        "attempt=2",
        "attempt=3",
    ]


def test_an_exit_rule_is_not_retried(local: Local, submitted: dict[str, str]) -> None:
    job = finished(local, submitted["exited"])
    assert job["status"] == "FAILED"
    assert [attempt["container"]["exitCode"] for attempt in job["attempts"]] == [3]


def test_job_state_changes_reach_sqs_through_an_eventbridge_rule(
    local: Local, submitted: dict[str, str], events_queue: str
) -> None:
    child = f"{submitted['array']}:0"
    finished(local, child)
    sqs = local.client("sqs")

    def delivered() -> dict[str, Any] | None:
        for message in sqs.receive_message(QueueUrl=events_queue, MaxNumberOfMessages=10).get("Messages", []):
            event = json.loads(message["Body"])
            if event["detail"]["jobId"] == child:
                return dict(event)
        return None

    event = eventually(delivered, f"the SUCCEEDED event of {child}", timeout=60)
    assert (event["source"], event["detail-type"]) == ("aws.batch", "Batch Job State Change")
    assert event["detail"]["status"] == "SUCCEEDED"
    assert event["resources"] == [event["detail"]["jobArn"]]


def test_a_rate_schedule_fires_by_the_accelerated_clock(local: Local) -> None:
    definition = local.job_definition("scheduled", "echo scheduled")
    name = f"every-minute-{uuid.uuid4().hex[:6]}"
    local.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": SUBMIT_JOB,
            "RoleArn": local.role_arn,
            "Input": json.dumps({"JobName": name, "JobQueue": local.queue_arn, "JobDefinition": definition}),
        },
    )
    time.sleep(2)  # the scheduler has seen it, and its first run is a minute away
    assert jobs_named(local, name) == []
    move_clock(local.endpoint, advance_seconds=61)
    job = eventually(lambda: jobs_named(local, name), f"schedule {name} to submit its job", timeout=30)[0]
    assert finished(local, job["jobId"])["status"] == "SUCCEEDED"


def test_the_fire_control_runs_a_schedule_now(local: Local) -> None:
    definition = local.job_definition("nightly", "echo nightly")
    name = f"nightly-{uuid.uuid4().hex[:6]}"
    local.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": SUBMIT_JOB,
            "RoleArn": local.role_arn,
            "Input": json.dumps({"JobName": name, "JobQueue": local.queue_arn, "JobDefinition": definition}),
        },
    )
    fired = fire_schedule(local.endpoint, name)
    job = finished(local, fired["started"])
    assert (job["jobName"], job["status"]) == (name, "SUCCEEDED")


def test_an_upload_runs_the_triggered_job_with_the_key_as_parameter(local: Local) -> None:
    definition = local.job_definition("ingest", "echo got Ref::input", parameters={"input": "none"})
    s3 = local.client("s3")
    s3.create_bucket(Bucket="fidelity-landing")
    s3.put_bucket_notification_configuration(
        Bucket="fidelity-landing", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events = local.client("events")
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["fidelity-landing"]}, "object": {"key": [{"prefix": "incoming/"}]}},
    }
    events.put_rule(Name="ingest-s3", EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="ingest-s3",
        Targets=[
            {
                "Id": "batch",
                "Arn": local.queue_arn,
                "RoleArn": local.role_arn,
                "BatchParameters": {"JobDefinition": definition, "JobName": "ingest-upload"},
                "InputTransformer": {
                    "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
                    "InputTemplate": '{"Parameters":{"input":"s3://<bucket>/<key>"}}',
                },
            }
        ],
    )
    s3.put_object(Bucket="fidelity-landing", Key="ignored/skip.csv", Body=b"a,b\n")
    s3.put_object(Bucket="fidelity-landing", Key="incoming/day-1.csv", Body=b"a,b\n")
    job = eventually(lambda: jobs_named(local, "ingest-upload"), "the upload's job", timeout=30)
    assert len(jobs_named(local, "ingest-upload")) == 1  # the key outside the prefix started nothing
    done = finished(local, job[0]["jobId"])
    assert done["status"] == "SUCCEEDED"
    assert done["parameters"]["input"] == "s3://fidelity-landing/incoming/day-1.csv"
    assert log_lines(local, done) == ["got s3://fidelity-landing/incoming/day-1.csv"]


def test_a_job_stuck_runnable_is_cancelled_by_its_queues_time_limit(local: Local) -> None:
    batch = local.client("batch")
    service = local.client("iam").get_role(RoleName="AWSServiceRoleForBatch")["Role"]["Arn"]
    disabled = batch.create_compute_environment(
        computeEnvironmentName="fidelity-disabled", type="UNMANAGED", state="DISABLED", serviceRole=service
    )["computeEnvironmentArn"]
    limit = {
        "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "state": "RUNNABLE",
        "maxTimeSeconds": 600,
        "action": "CANCEL",
    }
    queue = batch.create_job_queue(
        jobQueueName="fidelity-stuck",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": disabled}],
        jobStateTimeLimitActions=[limit],
    )["jobQueueArn"]
    described = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]
    assert described["jobStateTimeLimitActions"] == [limit]
    stuck = batch.submit_job(
        jobName="stuck", jobQueue=queue, jobDefinition=local.job_definition("stuck", "echo never")
    )["jobId"]
    eventually(lambda: describe(local, stuck)["status"] == "RUNNABLE", "the job to be RUNNABLE", timeout=30)
    time.sleep(3)
    assert describe(local, stuck)["status"] == "RUNNABLE"  # held: no enabled compute environment
    move_clock(local.endpoint, advance_seconds=601)
    job = finished(local, stuck, timeout=30)
    assert (job["status"], job["statusReason"]) == ("FAILED", limit["reason"])
    assert job["attempts"] == [] or "exitCode" not in job["attempts"][0]["container"]


def test_the_controls_say_what_is_wrong(local: Local) -> None:
    with pytest.raises(ToolError, match="404: no schedule default/absent"):
        fire_schedule(local.endpoint, "absent")
    with pytest.raises(ToolError, match="400: the clock only moves forward"):
        move_clock(local.endpoint, advance_seconds=-5)
    assert move_clock(local.endpoint)["scale"] == 1.0


def test_a_compute_environment_keeps_its_update_policy(local: Local) -> None:
    batch = local.client("batch")
    policy = {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}
    batch.update_compute_environment(computeEnvironment="fidelity", updatePolicy=policy)
    described = batch.describe_compute_environments(computeEnvironments=["fidelity"])["computeEnvironments"]
    assert described[0]["updatePolicy"] == policy
    batch.update_compute_environment(computeEnvironment="fidelity", state="ENABLED")  # no policy: it stays
    described = batch.describe_compute_environments(computeEnvironments=["fidelity"])["computeEnvironments"]
    assert described[0]["updatePolicy"] == policy


def test_a_compute_environment_keeps_its_updated_compute_resources(local: Local) -> None:
    batch, ec2 = local.client("batch"), local.client("ec2")
    service = local.client("iam").get_role(RoleName="AWSServiceRoleForBatch")["Role"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    group = ec2.create_security_group(GroupName="fidelity-resize", Description="x", VpcId=vpc)["GroupId"]
    batch.create_compute_environment(
        computeEnvironmentName="fidelity-resize",
        type="MANAGED",
        state="ENABLED",
        serviceRole=service,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": subnets[:1], "securityGroupIds": [group]},
    )
    # What Terraform sends for an in-place change of max_vcpus and subnets; moto alone drops both.
    batch.update_compute_environment(
        computeEnvironment="fidelity-resize", computeResources={"maxvCpus": 16, "subnets": subnets}
    )
    [described] = batch.describe_compute_environments(computeEnvironments=["fidelity-resize"])["computeEnvironments"]
    resources = described["computeResources"]
    assert (resources["maxvCpus"], resources["subnets"], resources["type"]) == (16, subnets, "FARGATE")
    assert resources["securityGroupIds"] == [group]

"""moto + batchplane's extensions against another local AWS (ministack) on batchplane's scenarios.

Starts the chosen emulator on a free loopback port as a subprocess of the given
interpreter, runs each scenario with boto3 against it (each with resources of
its own, so one failing does not decide another), stops the emulator by its
PID, and prints a table: scenario, seconds, result. "works" is what AWS does;
"fails: why" is an API that accepted the request and then did not do it (with
the first warning the emulator logged meanwhile); "unsupported: what" is an
operation or integration the emulator rejects as one it does not have. Jobs use
the local base image (no pull); Docker must be running. It prints figures and
asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/compare_emulators.py --emulator moto --python .venv/bin/python
    .venv/bin/python benchmarks/compare_emulators.py --emulator ministack --python /path/to/venv/bin/python

moto is ``python -m batchplane.local.server`` with the environment ``batchplane
local start`` gives it; ministack is ``python -m ministack`` (``pip install
ministack`` in the interpreter given). ``--scenarios 2,3`` runs a subset (the
start-up is always measured), ``--markdown`` also prints the table as Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
IMAGE = "batchplane/python-base:bookworm"
PRINT_INDEX = ["python3", "-c", "import os; print(os.environ.get('AWS_BATCH_JOB_ARRAY_INDEX'))"]
SUBMIT_JOB = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
FIRE_CONTROL = "/moto-api/batchplane/schedules/fire"
LOG_GROUP = "/aws/batch/job"
DONE = ("SUCCEEDED", "FAILED")
JOB_TIMEOUT = 180.0
# Error codes with which an emulator says it has no such operation.
NO_OPERATION = ("InvalidAction", "NotImplemented", "UnknownOperation", "UnknownOperationException", "InvalidRequest")


class Fails(Exception):
    """The scenario ran and the emulator did not do what AWS does."""


class Unsupported(Exception):
    """The emulator has no such operation or integration (it says so, or its documentation does)."""


# --- the emulator process -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(emulator: str, python: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start ``emulator`` on 127.0.0.1:``port``."""
    env = dict(os.environ)
    if emulator == "moto":
        # As batchplane.local.emulator.emulator_environment: managed policies loaded, jobs on the host network.
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        env["MOTO_DOCKER_NETWORK_MODE"] = "host"
        env.pop("MOTO_ACCOUNT_ID", None)
        if (REPO / "platform" / "batchplane").is_dir():
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "platform"), env.get("PYTHONPATH")]))
        return [python, "-m", "batchplane.local.server", "-H", "127.0.0.1", "-p", str(port)], env
    # ministack's documented settings: GATEWAY_PORT (default 4566) and BIND_HOST (default 0.0.0.0).
    env.update(GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1")
    return [python, "-m", "ministack"], env


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the emulator's PID, SIGKILL if it is still there after 15 s."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def resident_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- boto3 against the endpoint -------------------------------------------------------------


@dataclass
class Aws:
    endpoint: str
    emulator: str

    def client(self, service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=120, **config),
        )


def await_answer(aws: Aws, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Return once the emulator answers a Batch API call (DescribeJobQueues)."""
    batch = boto3.client(
        "batch",
        endpoint_url=aws.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5, read_timeout=30),
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Fails(f"the emulator exited with {process.returncode}")
        try:
            batch.describe_job_queues()
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.1)
    raise Fails(f"no answer within {timeout:.0f} s")


def eventually(probe: Callable[[], Any], timeout: float, step: float = 1.0) -> Any:
    """``probe()``'s first truthy answer within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer or time.monotonic() >= deadline:
            return answer
        time.sleep(step)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def role(aws: Aws, name: str, principal: str, managed_policy: str | None = None, path: str = "/") -> str:
    """An IAM role ``principal`` may assume (with an AWS managed policy attached when the emulator has it)."""
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }
    arn = str(iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    if managed_policy is not None:
        with contextlib.suppress(ClientError):  # an emulator without AWS managed policies: the role is enough
            iam.attach_role_policy(RoleName=name, PolicyArn=managed_policy)
    return arn


@dataclass
class Stack:
    """A managed FARGATE compute environment and its job queue (both called ``name``), with the role jobs need."""

    name: str
    environment: str
    queue: str
    execution_role: str


def batch_stack(aws: Aws, **queue_extra: Any) -> Stack:
    name = unique("bench")
    service = role(
        aws,
        f"{name}-batch",
        "batch.amazonaws.com",
        "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole",
        path="/service-role/",
    )
    execution = role(
        aws,
        f"{name}-exec",
        "ecs-tasks.amazonaws.com",
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    )
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="batch jobs", VpcId=vpc)["GroupId"]
    batch = aws.client("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        state="ENABLED",
        serviceRole=service,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    # By name: AWS takes names or ARNs, ministack only names.
    eventually(lambda: batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"], 30)
    queue = batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        **queue_extra,
    )["jobQueueArn"]
    eventually(lambda: batch.describe_job_queues(jobQueues=[name])["jobQueues"], 30)
    return Stack(name, str(environment), str(queue), execution)


def job_definition(aws: Aws, stack: Stack, command: list[str], **extra: Any) -> str:
    """A FARGATE container job definition running ``command`` in the base image; returns its ARN."""
    answer = aws.client("batch").register_job_definition(
        jobDefinitionName=unique("bench"),
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": IMAGE,
            "command": command,
            "executionRoleArn": stack.execution_role,
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
        },
        **extra,
    )
    return str(answer["jobDefinitionArn"])


def describe_job(aws: Aws, job_id: str) -> dict[str, Any] | None:
    jobs = aws.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    return dict(jobs[0]) if jobs else None


def finished(aws: Aws, job_id: str, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
    """The job once SUCCEEDED or FAILED; Fails when it is not there or not done in time."""
    job = eventually(lambda: (j := describe_job(aws, job_id)) is not None and j["status"] in DONE and j, timeout)
    if not job:
        last = describe_job(aws, job_id)
        raise Fails(f"job {job_id} unknown" if last is None else f"still {last['status']} after {timeout:.0f} s")
    return dict(job)


def log_lines(aws: Aws, job: dict[str, Any]) -> list[str] | None:
    """What the job's container printed (its CloudWatch log stream), None when it has no stream."""
    stream = (job.get("container") or {}).get("logStreamName")
    if not stream:
        return None
    try:
        events = aws.client("logs").get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    except ClientError:
        return None
    return [str(event["message"]) for event in events]


def ran_container(aws: Aws, job: dict[str, Any], expected: list[str]) -> str:
    """'' when the job SUCCEEDED and its container printed ``expected``, else why not."""
    if job["status"] != "SUCCEEDED":
        return f"{job['status']}: {job.get('statusReason', '')}"
    lines = log_lines(aws, job)
    if lines is None:
        return f"SUCCEEDED ({job.get('statusReason', 'no reason')}) but no container ran: no log stream"
    if lines != expected:
        return f"SUCCEEDED but the container printed {lines}, not {expected}"
    return ""


def jobs_named(aws: Aws, queue: str, name: str) -> list[dict[str, Any]]:
    batch = aws.client("batch")
    listed: list[dict[str, Any]] = []
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"):
        listed += batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    seen = {job["jobId"]: job for job in listed if job["jobName"] == name}
    return list(seen.values())


# --- the scenarios ----------------------------------------------------------------------------


def single_job(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    job_id = aws.client("batch").submit_job(jobName="single", jobQueue=stack.queue, jobDefinition=definition)["jobId"]
    started = time.monotonic()
    job = finished(aws, job_id)
    waited = time.monotonic() - started
    problem = ran_container(aws, job, ["None"])
    if problem:
        raise Fails(problem)
    return f"SUCCEEDED {waited:.1f} s after submission; the container printed None"


def array_job(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    batch = aws.client("batch")
    parent = batch.submit_job(
        jobName="array", jobQueue=stack.queue, jobDefinition=definition, arrayProperties={"size": 3}
    )["jobId"]
    if not eventually(lambda: describe_job(aws, f"{parent}:0"), 10):
        status = (describe_job(aws, parent) or {}).get("status")
        raise Fails(f"no child job {parent}:0 (the parent is {status})")
    children = [finished(aws, f"{parent}:{index}") for index in range(3)]
    printed = [log_lines(aws, child) for child in children]
    if printed != [["0"], ["1"], ["2"]]:
        raise Fails(f"children printed {printed}")
    return "3 children SUCCEEDED, printing indexes 0, 1, 2"


def retried_job(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, ["sh", "-c", "exit 1"], retryStrategy={"attempts": 3})
    job_id = aws.client("batch").submit_job(jobName="retry", jobQueue=stack.queue, jobDefinition=definition)["jobId"]
    job = finished(aws, job_id, timeout=2 * JOB_TIMEOUT)
    attempts = job.get("attempts") or []
    codes = [(attempt.get("container") or {}).get("exitCode") for attempt in attempts]
    summary = f"{job['status']} after {len(attempts)} attempt(s), exit codes {codes}"
    if job["status"] != "FAILED" or len(attempts) != 3:
        raise Fails(summary + " (AWS: FAILED after 3 attempts)")
    return summary


def state_change_events(aws: Aws) -> str:
    stack = batch_stack(aws)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=unique("batch-events"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    events = aws.client("events")
    rule = unique("batch-changes")
    pattern = {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]}
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "sqs", "Arn": queue_arn}])
    definition = job_definition(aws, stack, PRINT_INDEX)
    job_id = aws.client("batch").submit_job(jobName="evented", jobQueue=stack.queue, jobDefinition=definition)["jobId"]
    finished(aws, job_id)
    statuses: list[str] = []

    def all_received() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            detail = event.get("detail", {})
            if detail.get("jobId") == job_id:
                statuses.append(str(detail.get("status")))
        return "SUCCEEDED" in statuses or "FAILED" in statuses

    eventually(all_received, 30, step=0)
    if not statuses:
        raise Fails("no job state change reached the queue within 30 s of the job's end")
    return "events received: " + ", ".join(statuses)


def schedule_fires(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    submitter = role(aws, unique("scheduler"), "scheduler.amazonaws.com")
    name = unique("every-minute")
    created = time.monotonic()
    aws.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": SUBMIT_JOB,
            "RoleArn": submitter,
            "Input": json.dumps({"JobName": name, "JobQueue": stack.queue, "JobDefinition": definition}),
        },
    )
    parts = []
    controlled: set[str] = set()
    if aws.emulator == "moto":
        import urllib.request

        request = urllib.request.Request(
            aws.endpoint + FIRE_CONTROL,
            data=json.dumps({"name": name}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            started = json.loads(answer.read())["started"]
        controlled.add(started)
        job = finished(aws, started)
        parts.append(f"fire control: job {job['status']}")
    else:
        parts.append("no fire control")
    own = eventually(lambda: [j for j in jobs_named(aws, stack.queue, name) if j["jobId"] not in controlled], 75)
    if not own:
        raise Fails("; ".join([*parts, "did not fire on its own within 75 s"]))
    parts.append(f"fired on its own {time.monotonic() - created:.0f} s after creation")
    job = finished(aws, own[0]["jobId"])
    parts.append(f"job {job['status']}")
    return "; ".join(parts)


def upload_submits_job(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    submitter = role(aws, unique("events"), "events.amazonaws.com")
    s3 = aws.client("s3", s3={"addressing_style": "path"})
    bucket = unique("landing")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    events = aws.client("events")
    rule = unique("upload")
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    job_name = unique("triggered")
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "batch",
                "Arn": stack.queue,
                "RoleArn": submitter,
                "BatchParameters": {"JobDefinition": definition, "JobName": job_name},
            }
        ],
    )
    s3.put_object(Bucket=bucket, Key="incoming/day-1.csv", Body=b"a,b\n")
    submitted = eventually(lambda: jobs_named(aws, stack.queue, job_name), 30)
    if not submitted:
        raise Fails("no job submitted within 30 s of the upload")
    job = finished(aws, submitted[0]["jobId"])
    problem = ran_container(aws, job, ["None"])
    if problem:
        raise Fails("job submitted; " + problem)
    return "job submitted and SUCCEEDED"


def state_machine_runs_job(aws: Aws) -> str:
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    machine_role = role(aws, unique("states"), "states.amazonaws.com")
    document = {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {"JobName": "step", "JobQueue": stack.queue, "JobDefinition": definition},
                "End": True,
            }
        },
    }
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(name=unique("pipeline"), definition=json.dumps(document), roleArn=machine_role)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    started = time.monotonic()
    done = eventually(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d, JOB_TIMEOUT
    )
    if not done:
        raise Fails(f"execution still RUNNING after {JOB_TIMEOUT:.0f} s")
    if done["status"] != "SUCCEEDED":
        history = sfn.get_execution_history(executionArn=execution)["events"]
        failure: dict[str, Any] = next(
            (e for e in history if "Failed" in e["type"] and e["type"] != "ExecutionFailed"), {}
        )
        details: dict[str, Any] = next((v for k, v in failure.items() if k.endswith("EventDetails")), {})
        cause = str(details.get("cause") or done.get("cause") or done.get("error") or "")
        if "not yet implemented" in cause or "not supported" in cause:
            raise Unsupported(f"execution {done['status']}: {cause[:110]}")
        raise Fails(f"execution {done['status']}: {cause[:140]}")
    output = json.loads(done.get("output") or "{}")
    job_id = output.get("JobId") or output.get("jobId")
    job = describe_job(aws, str(job_id)) if job_id else None
    if job is None:
        raise Fails(f"execution SUCCEEDED but names no job it ran: {str(output)[:80]}")
    problem = ran_container(aws, job, ["None"])
    if problem:
        raise Fails("execution SUCCEEDED; job " + problem)
    return f"execution SUCCEEDED {time.monotonic() - started:.1f} s after start; its job ran and SUCCEEDED"


def terraform_details(aws: Aws) -> str:
    limit = {
        "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "state": "RUNNABLE",
        "maxTimeSeconds": 600,
        "action": "CANCEL",
    }
    stack = batch_stack(aws, jobStateTimeLimitActions=[limit])
    batch = aws.client("batch")
    policy = {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}
    batch.update_compute_environment(computeEnvironment=stack.environment, updatePolicy=policy)
    described = batch.describe_compute_environments(computeEnvironments=[stack.name])["computeEnvironments"]
    kept = {"update_policy (update)": described[0].get("updatePolicy") == policy}
    queue = batch.describe_job_queues(jobQueues=[stack.queue])["jobQueues"][0]
    kept["time limit (create)"] = queue.get("jobStateTimeLimitActions") == [limit]
    changed = {**limit, "maxTimeSeconds": 900}
    try:
        batch.update_job_queue(jobQueue=stack.queue, jobStateTimeLimitActions=[changed])
        queue = batch.describe_job_queues(jobQueues=[stack.queue])["jobQueues"][0]
        kept["time limit (update)"] = queue.get("jobStateTimeLimitActions") == [changed]
    except ClientError as error:
        kept["time limit (update)"] = False
        if error.response["Error"]["Code"] in NO_OPERATION:
            raise Unsupported(
                "UpdateJobQueue: " + "; ".join(f"{k} {'kept' if v else 'dropped'}" for k, v in kept.items())
            ) from error
    summary = "; ".join(f"{k} {'kept' if v else 'dropped'}" for k, v in kept.items())
    if not all(kept.values()):
        raise Fails(summary)
    return summary


def terraform_lifecycle(aws: Aws) -> str:
    """The other calls Terraform's aws_batch_* resources make on refresh, update and destroy."""
    stack = batch_stack(aws)
    definition = job_definition(aws, stack, PRINT_INDEX)
    batch = aws.client("batch")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("TagResource", lambda: batch.tag_resource(resourceArn=stack.environment, tags={"team": "data"})),
        ("ListTagsForResource", lambda: batch.list_tags_for_resource(resourceArn=stack.environment)),
        ("DeregisterJobDefinition", lambda: batch.deregister_job_definition(jobDefinition=definition)),
        ("UpdateJobQueue", lambda: batch.update_job_queue(jobQueue=stack.queue, state="DISABLED")),
        ("DeleteJobQueue", lambda: batch.delete_job_queue(jobQueue=stack.queue)),
        (
            "UpdateComputeEnvironment",
            lambda: batch.update_compute_environment(computeEnvironment=stack.environment, state="DISABLED"),
        ),
        ("DeleteComputeEnvironment", lambda: batch.delete_compute_environment(computeEnvironment=stack.environment)),
    ]
    missing = []
    for name, call in calls:
        try:
            call()
        except ClientError as error:
            missing.append(f"{name} ({error.response['Error']['Code']})")
    if missing:
        raise Unsupported(", ".join(missing))
    return f"all {len(calls)} answer"


SCENARIOS: dict[str, tuple[str, Callable[[Aws], str]]] = {
    "2": ("Batch: FARGATE job runs in Docker", single_job),
    "3": ("array of 3: children see their index", array_job),
    "4": ("retry: exit 1, attempts 3", retried_job),
    "5": ("job state changes -> EventBridge -> SQS", state_change_events),
    "6": ("Scheduler rate(1 minute) -> batch:submitJob", schedule_fires),
    "7": ("S3 upload -> EventBridge rule -> Batch", upload_submits_job),
    "8": ("Step Functions batch:submitJob.sync", state_machine_runs_job),
    "9": ("update_policy / time limit actions kept", terraform_details),
    "10": ("Terraform's other Batch calls (tags, delete)", terraform_lifecycle),
}


def emulator_says(log: Path, offset: int) -> str:
    """The first warning or error the emulator logged after ``offset`` (its log's size before a scenario)."""
    with log.open("rb") as text:
        text.seek(offset)
        for line in text.read().decode(errors="replace").splitlines():
            for level in ("WARNING", "ERROR"):
                if level in line:
                    return line[line.index(level) :].strip()[:170]
    return ""


def run(scenario: Callable[[Aws], str], aws: Aws, log: Path) -> tuple[str, float]:
    """The scenario's result (with what the emulator logged when it did not work) and its seconds."""
    offset = log.stat().st_size
    result, seconds = attempt(scenario, aws)
    said = "" if result.startswith("works") else emulator_says(log, offset)
    return (f"{result} [emulator log: {said}]" if said else result), seconds


def attempt(scenario: Callable[[Aws], str], aws: Aws) -> tuple[str, float]:
    started = time.monotonic()
    try:
        result = "works: " + scenario(aws)
    except Unsupported as error:
        result = f"unsupported: {error}"
    except Fails as error:
        result = f"fails: {error}"
    except ClientError as error:
        code, message = error.response["Error"].get("Code", ""), error.response["Error"].get("Message", "")
        operation = error.operation_name
        prefix = "unsupported" if code in NO_OPERATION else "fails"
        result = f"{prefix}: {operation}: {code} {message}"[:170]
    except Exception as error:  # a benchmark reports every failure and goes on to the next scenario
        result = f"fails: {type(error).__name__}: {error}"[:170]
    return result, time.monotonic() - started


def print_table(rows: list[tuple[str, str, float]], markdown: bool) -> None:
    width = max(len(name) for name, _, _ in rows)
    print(f"{'scenario':<{width}}  {'seconds':>7}  result")
    for name, result, seconds in rows:
        print(f"{name:<{width}}  {seconds:7.1f}  {result}")
    if markdown:
        print("\n| scenario | seconds | result |\n|---|---:|---|")
        for name, result, seconds in rows:
            print(f"| {name} | {seconds:.1f} | {result.replace('|', '/')} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--emulator", choices=("moto", "ministack"), required=True)
    parser.add_argument("--python", default=sys.executable, metavar="PATH", help="interpreter that runs the emulator")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), metavar="N,N", help="which scenarios (2-10)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}: choose among {', '.join(SCENARIOS)}")

    port = free_port()
    command, env = launch(args.emulator, args.python, port)
    log = Path(tempfile.mkstemp(prefix=f"compare-{args.emulator}-", suffix=".log")[1])
    aws = Aws(f"http://127.0.0.1:{port}", args.emulator)
    rows: list[tuple[str, str, float]] = []
    with log.open("wb") as output:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            try:
                await_answer(aws, process)
                rows.append(("1. start-up until it answers", "works", time.monotonic() - started))
            except Fails as error:
                rows.append(("1. start-up until it answers", f"fails: {error}", time.monotonic() - started))
                chosen = []
            for number in chosen:
                name, scenario = SCENARIOS[number]
                result, seconds = run(scenario, aws, log)
                rows.append((f"{number}. {name}", result, seconds))
            memory = resident_mib(process.pid)
        finally:
            stop(process)
    version = subprocess.run(
        [args.python, "-c", f"import importlib.metadata as m; print(m.version({args.emulator!r}))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(f"{args.emulator} {version} ({args.python}) on {aws.endpoint}; its log: {log}")
    if memory is not None:
        print(f"resident memory after the scenarios: {memory:.0f} MiB")
    print_table(rows, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

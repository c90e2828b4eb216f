"""What rule and schedule targets ask of Batch and Step Functions, and their delivery on moto.

The request building is pure (batchplane.local.targets); the delivery runs the
extension's functions directly against moto in this process, without installing
them (install() would change moto for every other test of the worker).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from batchplane.local import events_fidelity, scheduler_fidelity
from batchplane.local.batch_fidelity import array_environment, state_change_entry
from batchplane.local.targets import (
    Submission,
    arn_prefix_name,
    decode_input,
    rule_batch_submission,
    scheduler_batch_submission,
)

REGION = "eu-west-1"
QUEUE = "arn:aws:batch:eu-west-1:123456789012:job-queue/acme-dev-default"
DEFINITION = "arn:aws:batch:eu-west-1:123456789012:job-definition/acme-dev-csv-ingest"
S3_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": 1764537600.0,
    "region": REGION,
    "resources": ["arn:aws:s3:::acme-input"],
    "detail": {"bucket": {"name": "acme-input"}, "object": {"key": "incoming/day 1.csv", "size": 4}},
}
S3_TARGET: dict[str, Any] = {
    "Id": "batch",
    "Arn": QUEUE,
    "BatchParameters": {"JobDefinition": DEFINITION, "JobName": "acme-dev-csv-ingest", "ArrayProperties": {"Size": 4}},
    "InputTransformer": {
        "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
        "InputTemplate": '{"Parameters":{"input":"s3://<bucket>/<key>"}}',
    },
}


def test_an_s3_event_becomes_the_rule_targets_job_with_the_key_as_parameter() -> None:
    body = events_fidelity.target_input(S3_TARGET, S3_EVENT)
    assert rule_batch_submission(S3_TARGET, body) == Submission(
        job_name="acme-dev-csv-ingest",
        job_definition=DEFINITION,
        job_queue=QUEUE,
        array_properties={"size": 4},
        parameters={"input": "s3://acme-input/incoming/day 1.csv"},
    )


def test_a_target_without_transformer_gets_its_constant_input_or_the_event() -> None:
    constant = {"Id": "x", "Arn": QUEUE, "Input": '{"Parameters": {"day": 1}}'}
    assert events_fidelity.target_input(constant, S3_EVENT) == {"Parameters": {"day": 1}}
    assert events_fidelity.target_input({"Id": "x", "Arn": QUEUE}, S3_EVENT) is S3_EVENT
    plain = rule_batch_submission({**constant, "BatchParameters": {"JobDefinition": "d", "JobName": "n"}}, S3_EVENT)
    assert (plain.parameters, plain.array_properties) == (None, {})


def test_a_batch_target_needs_its_batch_parameters() -> None:
    with pytest.raises(ValueError, match="BatchParameters"):
        rule_batch_submission({"Id": "batch", "Arn": QUEUE}, {})


def test_a_submit_job_schedule_input_is_the_sdk_request() -> None:
    document = {
        "JobName": "nightly",
        "JobQueue": QUEUE,
        "JobDefinition": DEFINITION,
        "ArrayProperties": {"Size": 10},
        "Parameters": {"day": "1"},
        "ContainerOverrides": {"Environment": [{"Name": "MODE", "Value": "full"}]},
    }
    assert scheduler_batch_submission(document).kwargs() == {
        "job_name": "nightly",
        "job_def_id": DEFINITION,
        "job_queue": QUEUE,
        "array_properties": {"size": 10},
        "parameters": {"day": "1"},
        "container_overrides": {"environment": [{"name": "MODE", "value": "full"}]},
    }
    with pytest.raises(ValueError, match="JobName, JobQueue and JobDefinition"):
        scheduler_batch_submission({"JobName": "nightly"})


def test_arn_prefixes_and_inputs() -> None:
    assert arn_prefix_name(DEFINITION) == "acme-dev-csv-ingest"
    assert arn_prefix_name(DEFINITION + ":3") is None
    assert arn_prefix_name("acme-dev-csv-ingest") is None
    assert decode_input('{"a": 1}') == {"a": 1}
    assert decode_input("plain text") == "plain text"
    assert decode_input(None) is None


def test_batch_environment_and_state_change_events() -> None:
    assert array_environment({"statusSummary": {}, "index": 2}, 3) == {
        "AWS_BATCH_JOB_ARRAY_INDEX": "2",
        "AWS_BATCH_JOB_ARRAY_SIZE": "3",
    }
    assert array_environment({}, None) == {}
    entry = state_change_entry({"jobArn": "arn:aws:batch:eu-west-1:123456789012:job/j", "status": "RUNNABLE"})
    assert (entry["Source"], entry["DetailType"], entry["Resources"]) == (
        "aws.batch",
        "Batch Job State Change",
        ["arn:aws:batch:eu-west-1:123456789012:job/j"],
    )
    assert json.loads(entry["Detail"])["status"] == "RUNNABLE"


# --- delivery on moto -----------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    with mock_aws():
        yield {n: boto3.client(n, region_name=REGION, **credentials) for n in ("events", "sqs", "stepfunctions", "iam")}


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _messages(sqs: Any, url: str) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_a_rule_starts_its_state_machine_and_still_feeds_its_other_targets(aws: dict[str, Any]) -> None:
    from moto.events.models import events_backends

    role = aws["iam"].create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = aws["stepfunctions"].create_state_machine(name="pipeline", definition=definition, roleArn=role)
    url, queue_arn = _queue(aws["sqs"], "copies")
    pattern = {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "incoming/"}]}}}
    aws["events"].put_rule(Name="upload", EventPattern=json.dumps(pattern))
    aws["events"].put_targets(
        Rule="upload",
        Targets=[
            {"Id": "pipeline", "Arn": machine["stateMachineArn"], "Input": '{"run": "upload"}'},
            {"Id": "copy", "Arn": queue_arn},
        ],
    )
    rule = events_backends["123456789012"][REGION].describe_rule("upload", None)

    # As moto's S3 notifications call it: the event untransformed for moto's own targets.
    events_fidelity.send_to_targets(rule, {**S3_EVENT, "detail": {"object": {"key": "elsewhere/x"}}}, False)
    assert aws["stepfunctions"].list_executions(stateMachineArn=machine["stateMachineArn"])["executions"] == []

    events_fidelity.send_to_targets(rule, S3_EVENT, False)
    executions = aws["stepfunctions"].list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert len(executions) == 1
    started = aws["stepfunctions"].describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(started["input"]) == {"run": "upload"}
    assert [json.loads(body)["source"] for body in _messages(aws["sqs"], url)] == ["aws.s3"]


def test_a_schedule_fires_when_due_by_the_clock(aws: dict[str, Any]) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    url, queue_arn = _queue(aws["sqs"], "ticks")
    scheduler.create_schedule(
        Name="every-5-minutes",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": "arn:aws:iam::123456789012:role/s", "Input": "tick"},
    )
    now = scheduler_fidelity.CLOCK.now()
    assert scheduler_fidelity.tick(now) == []  # first seen: its first run is one period away
    assert scheduler_fidelity.tick(now + timedelta(minutes=4)) == []
    assert scheduler_fidelity.tick(now + timedelta(minutes=5, seconds=1)) == [queue_arn]
    assert scheduler_fidelity.tick(now + timedelta(minutes=6)) == []
    assert _messages(aws["sqs"], url) == ["tick"]


def test_a_disabled_schedule_does_not_fire(aws: dict[str, Any]) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    _, queue_arn = _queue(aws["sqs"], "never")
    scheduler.create_schedule(
        Name="disabled",
        ScheduleExpression="rate(1 minute)",
        State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": "arn:aws:iam::123456789012:role/s", "Input": "tick"},
    )
    now = scheduler_fidelity.CLOCK.now()
    assert scheduler_fidelity.tick(now) == []
    assert scheduler_fidelity.tick(now + timedelta(minutes=2)) == []


def test_described_compute_environments_get_their_stored_update_policy() -> None:
    from batchplane.local.compute_fidelity import with_update_policies

    answer = json.dumps({"computeEnvironments": [{"computeEnvironmentArn": "a"}, {"computeEnvironmentArn": "b"}]})
    policy = {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 30}
    assert json.loads(with_update_policies(answer, {"b": policy})) == {
        "computeEnvironments": [{"computeEnvironmentArn": "a"}, {"computeEnvironmentArn": "b", "updatePolicy": policy}]
    }

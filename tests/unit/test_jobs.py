"""Jobs: what a submission may carry, and a job's status and logs read back from moto in process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from batchplane.errors import ExitCode, ToolError
from batchplane.spec import load_spec
from batchplane.spec.loader import Spec
from batchplane.workflows import jobs
from batchplane.workflows.jobs import JobFailedError, JobStatus, JobUsageError, Submission, log_lines, submission
from tests.conftest import REPO
from tests.unit.policy_support import base, spec_from

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def example() -> Spec:
    return load_spec(REPO / "platform.yaml")


# --- parameters -----------------------------------------------------------------


def test_parameters_are_name_value_pairs() -> None:
    assert jobs.parse_parameters(["input=s3://b/k.csv", " day =2026-01-01", "query=a=b", "empty="]) == {
        "input": "s3://b/k.csv",
        "day": "2026-01-01",
        "query": "a=b",
        "empty": "",
    }


@pytest.mark.parametrize("item", ["input", "=value", " =value"])
def test_a_parameter_without_a_name_is_a_usage_error(item: str) -> None:
    with pytest.raises(JobUsageError, match="--param takes NAME=VALUE") as raised:
        jobs.parse_parameters([item])
    assert raised.value.exit_code == ExitCode.USAGE


# --- submissions ------------------------------------------------------------------


def test_names_follow_the_renderer(example: Spec) -> None:
    wanted = submission(example, "dev", "csv-ingest", {"input": "s3://acme-input/incoming/x.csv"}, None)
    assert wanted == Submission(
        "",
        "acme-dev-csv-ingest",
        "acme-dev-default",
        "acme-dev-csv-ingest",
        {"input": "s3://acme-input/incoming/x.csv"},
        None,
    )
    other = submission(example, "prod", "nightly-report", {}, None)
    assert (other.job_name, other.queue, other.definition) == (
        "acme-prod-nightly-report",
        "acme-prod-critical",
        "acme-prod-nightly-report",
    )


def test_an_unknown_job_is_a_usage_error_listing_the_known_ones(example: Spec) -> None:
    with pytest.raises(JobUsageError) as raised:
        submission(example, "dev", "csv-ingset", {}, None)
    assert raised.value.exit_code == ExitCode.USAGE
    assert "no job named 'csv-ingset' in platform.yaml (known: csv-ingest, data-quality, nightly-report)" in str(
        raised.value
    )


def test_an_unknown_parameter_is_a_usage_error_listing_the_known_ones(example: Spec) -> None:
    with pytest.raises(JobUsageError, match=r"job csv-ingest has no parameter inptu \(known: input\)"):
        submission(example, "dev", "csv-ingest", {"inptu": "s3://x"}, None)


def test_a_job_without_parameters_takes_none(example: Spec) -> None:
    with pytest.raises(JobUsageError, match=r"no parameter table \(known: none\)"):
        submission(example, "dev", "data-quality", {"table": "t"}, None)


def _spec(tmp_path: Path, **job: Any) -> Spec:
    document = base()
    document["jobs"]["ingest"].update(job)
    document["queues"]["critical"] = {"priority": 100, "compute": ["ondemand"]}
    document["environments"]["prod"]["overrides"] = {"jobs": {"ingest": {"queue": "critical"}}}
    return spec_from(document, tmp_path)


def test_a_parameter_named_only_by_the_command_is_accepted(tmp_path: Path) -> None:
    spec = _spec(tmp_path, command=["python", "-m", "ingest", "--day", "Ref::run.day", "Ref::input"])
    wanted = submission(spec, "dev", "ingest", {"run.day": "2026-01-01", "input": "s3://b/k"}, None)
    assert wanted.parameters == {"run.day": "2026-01-01", "input": "s3://b/k"}


def test_a_declared_parameter_the_command_does_not_name_is_accepted(tmp_path: Path) -> None:
    spec = _spec(tmp_path, parameters={"mode": "full"})
    assert submission(spec, "dev", "ingest", {"mode": "delta"}, None).parameters == {"mode": "delta"}


def test_the_queue_is_the_environments_after_its_overrides(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    assert submission(spec, "dev", "ingest", {}, None).queue == "acme-dev-default"
    assert submission(spec, "prod", "ingest", {}, None).queue == "acme-prod-critical"


@pytest.mark.parametrize("size", [2, 10_000])
def test_array_sizes_within_batchs_bounds_are_accepted(example: Spec, size: int) -> None:
    assert submission(example, "dev", "data-quality", {}, size).array_size == size


@pytest.mark.parametrize("size", [0, 1, 10_001])
def test_array_sizes_outside_batchs_bounds_are_usage_errors(example: Spec, size: int) -> None:
    with pytest.raises(JobUsageError, match=f"--array-size must be between 2 and 10000, got {size}"):
        submission(example, "dev", "data-quality", {}, size)


def _fair_share_spec(tmp_path: Path, **job: Any) -> Spec:
    document = base()
    document["queues"]["default"]["fair_share"] = {"shares": {"analytics": 3, "adhoc": 1}}
    document["jobs"]["ingest"].update({"share": "analytics", **job})
    return spec_from(document, tmp_path)


def test_a_job_on_a_fair_share_queue_is_submitted_with_its_share(tmp_path: Path) -> None:
    assert submission(_fair_share_spec(tmp_path), "dev", "ingest", {}).share == "analytics"


def test_a_job_on_a_first_in_first_out_queue_has_no_share(example: Spec) -> None:
    assert submission(example, "dev", "csv-ingest", {}).share is None


def test_without_a_size_an_array_job_is_submitted_with_its_own_array_size(tmp_path: Path) -> None:
    spec = _spec(tmp_path, array_size=4)
    assert submission(spec, "dev", "ingest", {}).array_size == 4
    assert submission(spec, "dev", "ingest", {}, None).array_size == 4


def test_a_given_array_size_overrides_the_jobs(tmp_path: Path) -> None:
    assert submission(_spec(tmp_path, array_size=4), "dev", "ingest", {}, 7).array_size == 7


def test_a_job_without_array_size_is_a_single_job(example: Spec) -> None:
    assert submission(example, "dev", "csv-ingest", {}).array_size is None


# --- status, waiting and logs against moto ------------------------------------------


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """Real boto3 clients, made once: each costs ~0.1 s, and moto intercepts clients made before its mock starts."""
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {name: boto3.client(name, region_name=REGION, **credentials) for name in ("batch", "iam", "logs")}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto per test; its Batch marks jobs finished at submission instead of running containers."""
    monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", raising=False)
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


@pytest.fixture
def batch(aws: None, clients: dict[str, Any]) -> Any:
    """A Batch client with the dev queue and csv-ingest definition of the example, as rendered."""
    client = clients["batch"]
    role = clients["iam"].create_role(RoleName="batch", AssumeRolePolicyDocument="{}")
    environment = client.create_compute_environment(
        computeEnvironmentName="acme-dev-spot", type="UNMANAGED", state="ENABLED", serviceRole=role["Role"]["Arn"]
    )
    client.create_job_queue(
        jobQueueName="acme-dev-default",
        state="ENABLED",
        priority=10,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}],
    )
    client.register_job_definition(
        jobDefinitionName="acme-dev-csv-ingest",
        type="container",
        parameters={"input": "s3://acme-input/incoming/sample.csv"},
        containerProperties={
            "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@sha256:" + "ab" * 32,
            "command": ["python", "-m", "csv_ingest", "Ref::input"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
    )
    return client


def _submitted(batch: Any, example: Spec, parameters: dict[str, str], array_size: int | None = None) -> Submission:
    return jobs.submit(batch, submission(example, "dev", "csv-ingest", parameters, array_size))


def test_a_submitted_job_carries_its_parameters(batch: Any, example: Spec) -> None:
    done = _submitted(batch, example, {"input": "s3://acme-input/incoming/x.csv"})
    [described] = batch.describe_jobs(jobs=[done.job_id])["jobs"]
    assert described["jobName"] == "acme-dev-csv-ingest"
    assert described["jobQueue"].endswith(":job-queue/acme-dev-default")
    assert described["parameters"] == {"input": "s3://acme-input/incoming/x.csv"}


def test_an_array_job_is_submitted_with_its_size(batch: Any, example: Spec) -> None:
    done = _submitted(batch, example, {}, array_size=3)
    [described] = batch.describe_jobs(jobs=[done.job_id])["jobs"]
    assert described["arrayProperties"]["size"] == 3


@contextmanager
def _requests(batch: Any) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SubmitJob request the client sends meanwhile."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    batch.meta.events.register("provide-client-params.batch.SubmitJob", record)
    try:
        yield sent
    finally:
        batch.meta.events.unregister("provide-client-params.batch.SubmitJob", record)


def test_the_share_and_array_size_go_into_the_submit_request(batch: Any, example: Spec) -> None:
    # moto keeps no share identifier: the request the client sends is what AWS would receive.
    wanted = replace(submission(example, "dev", "csv-ingest", {}, 3), share="analytics")
    with _requests(batch) as sent:
        done = jobs.submit(batch, wanted)
    assert (sent[0]["shareIdentifier"], sent[0]["arrayProperties"]) == ("analytics", {"size": 3})
    assert done.job_id
    assert done == replace(wanted, job_id=done.job_id)


def test_a_job_without_share_sends_no_share_identifier(batch: Any, example: Spec) -> None:
    with _requests(batch) as sent:
        jobs.submit(batch, submission(example, "dev", "csv-ingest", {}))
    assert not {"shareIdentifier", "arrayProperties"} & set(sent[0])


def test_submitting_to_a_missing_queue_is_a_tool_error(batch: Any) -> None:
    wanted = Submission("", "acme-dev-x", "acme-dev-nope", "acme-dev-csv-ingest", {}, None)
    with pytest.raises(ToolError, match="submit acme-dev-x to acme-dev-nope"):
        jobs.submit(batch, wanted)


def test_status_of_a_finished_job(batch: Any, example: Spec) -> None:
    done = _submitted(batch, example, {})
    found = jobs.status(batch, done.job_id)
    assert (found.job_id, found.name, found.status, found.done, found.attempts) == (
        done.job_id,
        "acme-dev-csv-ingest",
        "SUCCEEDED",
        True,
        1,
    )
    assert found.definition.endswith(":job-definition/acme-dev-csv-ingest:1")
    assert found.log_stream == f"acme-dev-csv-ingest/default/{done.job_id}"
    # The definition names no awslogs group: Batch writes to its default one.
    assert found.log_group == "/aws/batch/job"


def test_status_of_an_unknown_job_is_a_usage_error(batch: Any) -> None:
    with pytest.raises(JobUsageError, match="no job with id 0000 "):
        jobs.status(batch, "0000")


class _AwsBatch:
    """describe_jobs as AWS answers it for a definition with an awslogs group; moto leaves logConfiguration out."""

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        container = {
            "exitCode": 3,
            "logStreamName": "acme-dev-csv-ingest/default/abc",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/batchplane/acme/dev/csv"}},
        }
        job = {"jobId": jobs[0], "jobName": "acme-dev-csv-ingest", "status": "FAILED", "container": container}
        return {"jobs": [job | {"statusReason": "Essential container in task exited"}]}


def test_status_reads_the_jobs_own_log_group() -> None:
    found = jobs.status(_AwsBatch(), "abc")
    assert (found.log_group, found.log_stream) == ("/batchplane/acme/dev/csv", "acme-dev-csv-ingest/default/abc")
    assert (found.exit_code, found.reason, found.attempts) == (3, "Essential container in task exited", 0)


def test_waiting_for_a_job_that_succeeded_reports_it_once(batch: Any, example: Spec) -> None:
    done = _submitted(batch, example, {})
    seen: list[str] = []
    assert jobs.wait(batch, done.job_id, poll=0, on_change=lambda s: seen.append(s.status)).status == "SUCCEEDED"
    assert seen == ["SUCCEEDED"]


def test_waiting_for_a_job_that_failed_raises(batch: Any, example: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    done = _submitted(batch, example, {})
    with pytest.raises(JobFailedError, match=f"job acme-dev-csv-ingest \\({done.job_id}\\) FAILED") as raised:
        jobs.wait(batch, done.job_id, poll=0)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED


STREAM = "acme-dev-csv-ingest/default/0123"
OWN_GROUP = "/batchplane/acme/dev/csv-ingest"


@pytest.fixture
def logs(aws: None, clients: dict[str, Any]) -> Any:
    return clients["logs"]


def _events(messages: list[str], start: int) -> list[dict[str, Any]]:
    # CloudWatch Logs refuses events from the future: these are an hour old, a millisecond apart.
    first = int(time.time() * 1000) - 3_600_000 + start
    return [{"timestamp": first + i, "message": m} for i, m in enumerate(messages)]


def _write(logs: Any, group: str, messages: list[str], stream: str = STREAM) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=_events(messages, 0))


def _job(log_group: str | None, log_stream: str | None = STREAM) -> JobStatus:
    return JobStatus(
        "0123", "acme-dev-csv-ingest", "SUCCEEDED", None, 0, "acme-dev-csv-ingest:1", log_group, log_stream, 1
    )


def test_log_lines_come_from_the_jobs_own_group_oldest_first(logs: Any) -> None:
    _write(logs, OWN_GROUP, ["reading s3://x\n", "wrote 3 rows"])
    _write(logs, "/aws/batch/job", ["not this one"])
    assert list(log_lines(logs, _job(OWN_GROUP))) == ["reading s3://x", "wrote 3 rows"]


def test_log_lines_fall_back_to_batchs_default_group(logs: Any) -> None:
    logs.create_log_group(logGroupName=OWN_GROUP)
    _write(logs, "/aws/batch/job", ["from the emulator"])
    assert list(log_lines(logs, _job(OWN_GROUP))) == ["from the emulator"]


def test_log_lines_fall_back_when_the_jobs_group_does_not_exist(logs: Any) -> None:
    _write(logs, "/aws/batch/job", ["from the emulator"])
    assert list(log_lines(logs, _job(OWN_GROUP))) == ["from the emulator"]


def test_log_lines_without_a_group_read_batchs_default_group(logs: Any) -> None:
    _write(logs, "/aws/batch/job", ["default"])
    assert list(log_lines(logs, _job(None))) == ["default"]


def test_log_lines_read_every_page(logs: Any) -> None:
    # One page of get_log_events holds at most 10,000 events.
    messages = [f"row {i}" for i in range(10_050)]
    _write(logs, OWN_GROUP, messages[:5_000])
    logs.put_log_events(logGroupName=OWN_GROUP, logStreamName=STREAM, logEvents=_events(messages[5_000:], 5_000))
    assert list(log_lines(logs, _job(OWN_GROUP))) == messages


def test_missing_logs_are_a_tool_error_naming_where_they_were_looked_for(logs: Any) -> None:
    with pytest.raises(ToolError, match=f"read logs of 0123 from /aws/batch/job/{STREAM}"):
        list(log_lines(logs, _job(OWN_GROUP)))


def test_a_job_without_a_log_stream_has_no_logs_yet(logs: Any) -> None:
    with pytest.raises(JobUsageError, match="job 0123 has no log stream yet"):
        list(log_lines(logs, _job(OWN_GROUP, log_stream=None)))

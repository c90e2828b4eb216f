"""The AWS calls of ``jobs why``: a job, its queue, compute, dependencies and last log lines, as :class:`Facts`.

Only the job itself must be readable; any other refusal or failure is recorded
in ``Facts.unknown`` with AWS's words, for :func:`~batchplane.workflows.diagnose.diagnose`
to show as unknown.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from typing import Any

from batchplane.errors import ToolError
from batchplane.workflows.diagnose import Facts
from batchplane.workflows.jobs import DEFAULT_LOG_GROUP, DONE, JobStatus, JobUsageError, log_lines

LOG_TAIL = 20


def _reading(unknown: dict[str, str], what: str, call: Callable[[], Any]) -> Any:
    """``call()``, or None with the reason recorded under ``what`` when AWS refused or failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        unknown[what] = f"{exc.operation_name}: {error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    except BotoCoreError as exc:
        unknown[what] = str(exc)
    return None


def _log_stream(job: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(log group, stream) of the job's last attempt."""
    container = job.get("container") or {}
    attempts = job.get("attempts") or []
    stream = ((attempts[-1].get("container") or {}).get("logStreamName") if attempts else None) or container.get(
        "logStreamName"
    )
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return options.get("awslogs-group") or (DEFAULT_LOG_GROUP if stream else None), stream


def _tail(logs: Any, job: Mapping[str, Any], unknown: dict[str, str], count: int) -> tuple[str, ...] | None:
    group, stream = _log_stream(job)
    if stream is None:
        return None
    status = JobStatus(str(job["jobId"]), str(job.get("jobName")), str(job["status"]), None, None, "", group, stream, 0)
    try:
        return tuple(collections.deque(log_lines(logs, status), maxlen=count))
    except ToolError as exc:
        unknown["logs"] = exc.detail
        return None


def gather(batch: Any, logs: Any, job_id: str, tail: int = LOG_TAIL) -> Facts:
    """Everything :func:`diagnose` looks at, read from AWS; only the job itself must be readable."""
    unknown: dict[str, str] = {}
    described = _reading(unknown, "job", lambda: batch.describe_jobs(jobs=[job_id]))
    if described is None:
        raise ToolError("aws", [], f"describe job {job_id}: {unknown['job']}")
    if not described["jobs"]:
        raise JobUsageError(f"no job with id {job_id} (in this environment's account and region)")
    job: Mapping[str, Any] = described["jobs"][0]
    queue, compute = _queue_and_compute(batch, str(job["jobQueue"]), unknown)
    definition = None
    if not job.get("container"):
        answer = _reading(
            unknown, "definition", lambda: batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])
        )
        definition = next(iter((answer or {}).get("jobDefinitions", [])), None)
    dependency_ids = [d["jobId"] for d in job.get("dependsOn") or [] if d.get("jobId")]
    dependencies = (
        _reading(unknown, "dependencies", lambda: batch.describe_jobs(jobs=dependency_ids)) if dependency_ids else None
    )
    summary = _summary(batch, job, unknown) if job.get("status") in DONE else None
    return Facts(
        job=job,
        queue=queue,
        compute=compute,
        definition=definition,
        dependencies=tuple((dependencies or {}).get("jobs", [])),
        summary=summary,
        logs=_tail(logs, job, unknown, tail),
        unknown=unknown,
    )


def _queue_and_compute(
    batch: Any, queue_arn: str, unknown: dict[str, str]
) -> tuple[Mapping[str, Any] | None, tuple[Mapping[str, Any], ...]]:
    """The job's queue, and its compute environments in the queue's order."""
    queues = _reading(unknown, "queue", lambda: batch.describe_job_queues(jobQueues=[queue_arn]))
    if queues is None:
        return None, ()
    if not queues.get("jobQueues"):
        unknown["queue"] = f"{queue_arn} no longer exists"
        return None, ()
    queue: Mapping[str, Any] = queues["jobQueues"][0]
    ordered = sorted(queue.get("computeEnvironmentOrder") or [], key=lambda o: o["order"])
    arns = [str(o["computeEnvironment"]) for o in ordered]
    if not arns:
        return queue, ()
    answer = _reading(unknown, "compute", lambda: batch.describe_compute_environments(computeEnvironments=arns))
    if answer is None:
        return queue, ()
    by_arn = {c["computeEnvironmentArn"]: c for c in answer.get("computeEnvironments", [])}
    gone = [arn for arn in arns if arn not in by_arn]
    if gone:
        unknown["compute"] = f"{', '.join(gone)} no longer exist(s)"
    return queue, tuple(by_arn[arn] for arn in arns if arn in by_arn)


def _summary(batch: Any, job: Mapping[str, Any], unknown: dict[str, str]) -> Mapping[str, Any] | None:
    """The job's ListJobs entry, which carries the exit code where DescribeJobs (the local AWS's) leaves it out."""
    if (job.get("container") or {}).get("exitCode") is not None:
        return None
    filters = [{"name": "JOB_NAME", "values": [str(job.get("jobName"))]}]
    answer = _reading(unknown, "summary", lambda: batch.list_jobs(jobQueue=job["jobQueue"], filters=filters))
    return next((s for s in (answer or {}).get("jobSummaryList", []) if s.get("jobId") == job["jobId"]), None)

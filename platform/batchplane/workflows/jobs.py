"""Submit job types of an environment, follow them, read their logs.

Names follow the renderer: the job definition and queue of job ``j`` on queue
``q`` in environment ``e`` of platform ``p`` are ``p-e-j`` and ``p-e-q``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from batchplane.errors import BatchplaneError, ExitCode, ToolError
from batchplane.local.emulator import EmulatorState
from batchplane.spec.loader import Spec
from batchplane.workflows import aws

DONE = ("SUCCEEDED", "FAILED")
DEFAULT_LOG_GROUP = "/aws/batch/job"  # where Batch writes when a job sets no awslogs group
MAX_ARRAY_SIZE = 10_000
_REF = re.compile(r"Ref::([A-Za-z0-9_.-]+)")


class JobFailedError(BatchplaneError):
    """A job that was waited for ended FAILED."""

    exit_code = ExitCode.TOOL_FAILED


class JobUsageError(BatchplaneError):
    """A job name, parameter or size the spec does not allow."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Clients:
    batch: Any
    logs: Any


def clients(spec: Spec, environment: str, emulator: EmulatorState | None) -> Clients:
    """Batch and Logs clients for an environment: the emulator's (as its account) or AWS's."""
    return Clients(*(aws.client(spec, environment, emulator, service) for service in ("batch", "logs")))


def parse_parameters(items: list[str]) -> dict[str, str]:
    """``k=v`` pairs from the command line."""
    parameters: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise JobUsageError(f"--param takes NAME=VALUE, got {item!r}")
        parameters[key.strip()] = value
    return parameters


@dataclass(frozen=True)
class Submission:
    job_id: str
    job_name: str
    queue: str
    definition: str
    parameters: dict[str, str]
    array_size: int | None
    share: str | None = None
    """Fair-share identifier: the job's ``share`` (a fair-share queue refuses a job without one)."""


def submission(
    spec: Spec, environment: str, name: str, parameters: dict[str, str], array_size: int | None = None
) -> Submission:
    """What to submit for job type ``name``: its queue, definition, share, and checked parameters.

    ``array_size`` None means the job's own ``array_size`` (a single job when it has none).
    """
    platform = spec.platform
    if name not in platform.jobs:
        raise JobUsageError(f"no job named {name!r} in {spec.path.name} (known: {', '.join(sorted(platform.jobs))})")
    job = spec.env(environment).jobs[name]
    known = set(job.parameters or {}) | {m.group(1) for part in job.command for m in _REF.finditer(part)}
    unknown = sorted(set(parameters) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise JobUsageError(f"job {name} has no parameter {', '.join(unknown)} (known: {listed})")
    if array_size is not None and not 2 <= array_size <= MAX_ARRAY_SIZE:
        raise JobUsageError(f"--array-size must be between 2 and {MAX_ARRAY_SIZE}, got {array_size}")
    prefix = f"{platform.name}-{environment}"
    return Submission(
        "",
        f"{prefix}-{name}",
        f"{prefix}-{job.queue}",
        f"{prefix}-{name}",
        parameters,
        job.array_size if array_size is None else array_size,
        job.share,
    )


def submit(batch: Any, wanted: Submission) -> Submission:
    """Submit to the latest active revision of the definition; returns it with its job id."""
    request: dict[str, Any] = {
        "jobName": wanted.job_name,
        "jobQueue": wanted.queue,
        "jobDefinition": wanted.definition,
    }
    if wanted.parameters:
        request["parameters"] = wanted.parameters
    if wanted.array_size:
        request["arrayProperties"] = {"size": wanted.array_size}
    if wanted.share:
        request["shareIdentifier"] = wanted.share
    answer = aws.call(f"submit {wanted.job_name} to {wanted.queue}", lambda: batch.submit_job(**request))
    return replace(wanted, job_id=str(answer["jobId"]))


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    name: str
    status: str
    reason: str | None
    exit_code: int | None
    definition: str
    log_group: str | None
    log_stream: str | None
    attempts: int

    @property
    def done(self) -> bool:
        return self.status in DONE

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["job_definition"] = document.pop("definition")
        return document


def status(batch: Any, job_id: str) -> JobStatus:
    found = aws.call(f"describe job {job_id}", lambda: batch.describe_jobs(jobs=[job_id]))["jobs"]
    if not found:
        raise JobUsageError(f"no job with id {job_id} (in this environment's account and region)")
    job = found[0]
    container = job.get("container") or {}
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return JobStatus(
        job_id=str(job["jobId"]),
        name=str(job.get("jobName", "")),
        status=str(job["status"]),
        reason=job.get("statusReason"),
        exit_code=container.get("exitCode"),
        definition=str(job.get("jobDefinition", "")),
        log_group=options.get("awslogs-group") or (DEFAULT_LOG_GROUP if container.get("logStreamName") else None),
        log_stream=container.get("logStreamName"),
        attempts=len(job.get("attempts") or []),
    )


def wait(
    batch: Any,
    job_id: str,
    *,
    poll: float = 2.0,
    timeout: float | None = None,
    on_change: Callable[[JobStatus], None] | None = None,
) -> JobStatus:
    """Poll until the job ends; reports every status change. Raises JobFailedError when it FAILED."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen = ""
    while True:
        current = status(batch, job_id)
        if current.status != seen and on_change is not None:
            on_change(current)
        seen = current.status
        if current.done:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise ToolError("aws", [], f"job {job_id} still {current.status} after {timeout:.0f} s")
        time.sleep(poll)
    if current.status == "FAILED":
        detail = f" (exit code {current.exit_code})" if current.exit_code is not None else ""
        raise JobFailedError(f"job {current.name} ({job_id}) FAILED: {current.reason or 'no reason given'}{detail}")
    return current


def log_lines(logs: Any, job: JobStatus) -> Iterator[str]:
    """The job's log lines from CloudWatch Logs, oldest first.

    The job's own awslogs group is read first; where that stream does not
    exist, Batch's default group ``/aws/batch/job`` (the emulator writes every
    job there, whatever the definition says).
    """
    if job.log_stream is None:
        raise JobUsageError(f"job {job.job_id} has no log stream yet (status {job.status})")
    from botocore.exceptions import ClientError

    groups = list(dict.fromkeys(g for g in (job.log_group, DEFAULT_LOG_GROUP) if g))
    for position, group in enumerate(groups):
        token: str | None = None
        try:
            while True:
                request: dict[str, Any] = {
                    "logGroupName": group,
                    "logStreamName": job.log_stream,
                    "startFromHead": True,
                }
                if token:
                    request["nextToken"] = token
                page = logs.get_log_events(**request)
                for event in page.get("events", []):
                    yield str(event.get("message", "")).rstrip("\n")
                if not page.get("events") or page.get("nextForwardToken") in (None, token):
                    return
                token = page["nextForwardToken"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code != "ResourceNotFoundException" or position == len(groups) - 1:
                raise ToolError("aws", [], f"read logs of {job.job_id} from {group}/{job.log_stream}: {exc}") from None

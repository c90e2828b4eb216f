"""Start a pipeline's execution in an environment and follow it step by step.

A pipeline ``p`` of platform ``n`` in environment ``e`` is the Step Functions
state machine ``n-e-p`` (named like the other rendered resources). An
execution is read from three places: Step Functions' execution (status, error),
its history (which step is where: :mod:`batchplane.workflows.pipeline_history`)
and Batch (each step's job: status, timestamps, exit code, array children).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from batchplane.errors import BatchplaneError, ExitCode, ToolError
from batchplane.local.emulator import EmulatorState
from batchplane.spec.loader import Spec
from batchplane.workflows import aws
from batchplane.workflows import pipeline_history as history

DESCRIBE_LIMIT = 100  # job ids per DescribeJobs call


class PipelineFailedError(BatchplaneError):
    """An execution that was waited for did not succeed (exit 5, like a job that FAILED)."""

    exit_code = ExitCode.TOOL_FAILED


class PipelineUsageError(BatchplaneError):
    """A pipeline or execution the spec or the environment does not have."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Clients:
    stepfunctions: Any
    batch: Any


def clients(spec: Spec, environment: str, emulator: EmulatorState | None) -> Clients:
    """Step Functions and Batch clients for an environment: the emulator's (as its account) or AWS's."""
    return Clients(*(aws.client(spec, environment, emulator, service) for service in ("stepfunctions", "batch")))


def state_machine_prefix(spec: Spec, environment: str) -> str:
    """What every pipeline's state machine of the environment is called, up to the pipeline's name."""
    return f"{spec.platform.name}-{environment}-"


def declared_pipelines(spec: Spec) -> list[str]:
    """The pipelines of the spec's ``pipelines:`` section."""
    return sorted(spec.platform.pipelines)


def state_machine_name(spec: Spec, environment: str, pipeline: str) -> str:
    """The state machine of ``pipeline``; a pipeline the spec does not declare is a usage error."""
    known = declared_pipelines(spec)
    if pipeline not in known:
        listed = ", ".join(known) or "none"
        raise PipelineUsageError(f"no pipeline named {pipeline!r} in {spec.path.name} (known: {listed})")
    return state_machine_prefix(spec, environment) + pipeline


def _state_machines(sfn: Any) -> Iterator[dict[str, Any]]:
    pages = aws.call("list state machines", lambda: list(sfn.get_paginator("list_state_machines").paginate()))
    for page in pages:
        yield from page.get("stateMachines", [])


def find_state_machine(sfn: Any, name: str) -> str:
    """The ARN of the state machine ``name``; its absence means the environment was not applied."""
    for machine in _state_machines(sfn):
        if machine["name"] == name:
            return str(machine["stateMachineArn"])
    raise ToolError("aws", [], f"no state machine {name} in this environment: apply it first (`batchplane up`)")


def start(sfn: Any, state_machine_arn: str, pipeline: str) -> str:
    """Start an execution named ``<pipeline>-<UTC time>-<random>``; returns its ARN."""
    name = f"{pipeline}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    answer = aws.call(f"start {pipeline}", lambda: sfn.start_execution(stateMachineArn=state_machine_arn, name=name))
    return str(answer["executionArn"])


def execution_arn(sfn: Any, prefix: str, arn_or_name: str) -> str:
    """An execution's ARN from its ARN or its name (looked up in the state machines named ``prefix``...)."""
    if arn_or_name.startswith("arn:"):
        return arn_or_name
    from botocore.exceptions import ClientError

    for machine in _state_machines(sfn):
        if not machine["name"].startswith(prefix):
            continue
        candidate = str(machine["stateMachineArn"]).replace(":stateMachine:", ":execution:", 1) + f":{arn_or_name}"
        try:
            sfn.describe_execution(executionArn=candidate)
        except ClientError:
            continue
        return candidate
    raise PipelineUsageError(f"no execution named {arn_or_name!r} of a pipeline of this environment")


@dataclass(frozen=True)
class Child:
    """One child of an array step's job."""

    index: int
    job_id: str
    status: str
    started_at: str | None
    stopped_at: str | None
    exit_code: int | None


@dataclass(frozen=True)
class Step:
    """A step of an execution: where the history has it, and its Batch job."""

    name: str
    status: str
    job_id: str | None
    job_name: str | None
    array_size: int | None
    created_at: str | None
    started_at: str | None
    stopped_at: str | None
    reason: str | None
    exit_code: int | None
    error: str | None
    cause: str | None
    children: tuple[Child, ...]


@dataclass(frozen=True)
class Execution:
    """An execution of a pipeline, step by step."""

    execution_arn: str
    name: str
    state_machine: str
    status: str
    started_at: str | None
    stopped_at: str | None
    error: str | None
    cause: str | None
    failed_step: str | None
    steps: tuple[Step, ...]

    @property
    def done(self) -> bool:
        return self.status in history.ENDED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 UTC: Batch's milliseconds since the epoch, or Step Functions' datetimes."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, int | float) and value > 0:  # 0: moto's "never" (an array job's own start)
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    return None


def _describe_jobs(batch: Any, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = list(job_ids)
    found: dict[str, dict[str, Any]] = {}
    for start_at in range(0, len(wanted), DESCRIBE_LIMIT):
        chunk = wanted[start_at : start_at + DESCRIBE_LIMIT]
        answer = aws.call("describe jobs", partial(batch.describe_jobs, jobs=chunk))
        found.update({str(job["jobId"]): job for job in answer.get("jobs", [])})
    return found


def _exit_code(job: dict[str, Any]) -> int | None:
    code = (job.get("container") or {}).get("exitCode")
    return code if isinstance(code, int) else None


def _children(batch: Any, job_id: str, size: int) -> tuple[Child, ...]:
    found = _describe_jobs(batch, (f"{job_id}:{index}" for index in range(size)))
    return tuple(
        Child(
            index,
            child_id,
            str(job.get("status", "")),
            _iso(job.get("startedAt")),
            _iso(job.get("stoppedAt")),
            _exit_code(job),
        )
        for index in range(size)
        if (job := found.get(child_id := f"{job_id}:{index}")) is not None
    )


def _unsubmitted(progress: history.StepProgress, array_size: int | None) -> Step:
    """A step without a Batch job (yet): what the history says."""
    return Step(
        name=progress.name,
        status=progress.status,
        job_id=progress.job_id,
        job_name=None,
        array_size=array_size,
        created_at=None,
        started_at=None,
        stopped_at=None,
        reason=None,
        exit_code=None,
        error=progress.error,
        cause=progress.cause,
        children=(),
    )


def _step(batch: Any, progress: history.StepProgress, array_size: int | None, job: dict[str, Any] | None) -> Step:
    if job is None:
        return _unsubmitted(progress, array_size)
    size = (job.get("arrayProperties") or {}).get("size") or array_size
    children = _children(batch, progress.job_id or "", int(size)) if size else ()
    batch_status = str(job.get("status", ""))
    # The history decides a step's outcome; before it, Batch says how far its job got.
    status = progress.status if progress.status in history.ENDED else batch_status
    started = _iso(job.get("startedAt")) or min((c.started_at for c in children if c.started_at), default=None)
    stopped = _iso(job.get("stoppedAt")) or (
        max((c.stopped_at for c in children if c.stopped_at), default=None)
        if children and all(c.stopped_at for c in children)
        else None
    )
    return Step(
        name=progress.name,
        status=status,
        job_id=progress.job_id,
        job_name=job.get("jobName"),
        array_size=int(size) if size else None,
        created_at=_iso(job.get("createdAt")),
        started_at=started,
        stopped_at=stopped,
        reason=job.get("statusReason"),
        exit_code=_exit_code(job),
        error=progress.error,
        cause=progress.cause,
        children=children,
    )


def describe(clients: Clients, arn: str) -> Execution:
    """The execution ``arn`` now: its status and every step's (with its Batch job and array children)."""
    sfn = clients.stepfunctions
    execution = aws.call(f"describe execution {arn}", lambda: sfn.describe_execution(executionArn=arn))
    machine = aws.call(
        "describe its state machine",
        lambda: sfn.describe_state_machine(stateMachineArn=execution["stateMachineArn"]),
    )
    pages = aws.call(
        f"read the history of {arn}",
        lambda: list(sfn.get_paginator("get_execution_history").paginate(executionArn=arn)),
    )
    events = [event for page in pages for event in page.get("events", [])]
    definitions = history.batch_steps(json.loads(machine["definition"]))
    status = str(execution["status"])
    progress = history.progress_of(definitions, events, status)
    jobs = _describe_jobs(clients.batch, (p.job_id for p in progress if p.job_id))
    steps = tuple(
        _step(clients.batch, p, d.array_size, jobs.get(p.job_id or ""))
        for p, d in zip(progress, definitions, strict=True)
    )
    failed = history.failed_step(progress)
    return Execution(
        execution_arn=arn,
        name=str(execution["name"]),
        state_machine=str(machine["name"]),
        status=status,
        started_at=_iso(execution.get("startDate")),
        stopped_at=_iso(execution.get("stopDate")),
        error=execution.get("error"),
        cause=execution.get("cause"),
        failed_step=failed.name if failed is not None else None,
        steps=steps,
    )


def follow(
    clients: Clients,
    arn: str,
    *,
    poll: float = 5.0,
    timeout: float | None = None,
    on_change: Callable[[Execution], None] | None = None,
) -> Execution:
    """Poll until the execution ends; reports every change of its status or of a step's."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: tuple[str, ...] = ()
    while True:
        current = describe(clients, arn)
        shape = (current.status, *(f"{step.name}={step.status}" for step in current.steps))
        if shape != seen and on_change is not None:
            on_change(current)
        seen = shape
        if current.done:
            return current
        if deadline is not None and time.monotonic() > deadline:
            raise ToolError("aws", [], f"execution {arn} still {current.status} after {timeout:.0f} s")
        time.sleep(poll)


def failure(execution: Execution) -> PipelineFailedError:
    """The error for an execution that ended without succeeding, naming its failing step."""
    where = f" at step {execution.failed_step}" if execution.failed_step else ""
    detail = ""
    step = next((s for s in execution.steps if s.name == execution.failed_step), None)
    if step is not None and step.job_id is not None:
        code = f", exit code {step.exit_code}" if step.exit_code is not None else ""
        detail = f": job {step.job_name or step.job_id} ({step.job_id}) {step.status}" + (
            f" ({step.reason}{code})" if step.reason or code else ""
        )
    elif execution.error:
        detail = f": {execution.error}" + (f": {execution.cause}" if execution.cause else "")
    return PipelineFailedError(
        f"pipeline {execution.state_machine} ({execution.name}) {execution.status}{where}{detail}"
    )

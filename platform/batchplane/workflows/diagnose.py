"""Why a job is stuck or failed: ``jobs why``.

This module is pure: :func:`diagnose` judges what AWS answered (boto3's
response dicts, gathered in :class:`Facts`) and returns a :class:`Diagnosis`,
a verdict line first and the details behind it; :func:`lines` shows it.
The AWS calls are apart, in :mod:`batchplane.workflows.diagnose_read`, and
whether a job fits its compute in :mod:`batchplane.workflows.diagnose_fit`.
A fact that could not be read (no permission, an API error) is in
``Facts.unknown`` with the reason and shown as unknown: never guessed, and
never taken to be fine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchplane.capacity.placement import Demand
from batchplane.workflows.diagnose_fit import Fit, fit, needs
from batchplane.workflows.jobs import DONE

# What a status reason means and what to look at; the first pattern that matches explains it.
EXPLANATIONS: tuple[tuple[str, str], ...] = (
    (
        r"CannotPullContainerError",
        "the image could not be pulled: check that the image reference exists in its registry, that the "
        "execution role (Fargate) or instance role (EC2) may pull it (ecr:GetAuthorizationToken, "
        "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer), and that the subnets reach the registry "
        "(NAT gateway or ECR VPC endpoints)",
    ),
    (
        r"unable to (pull|retrieve) secrets?|secretsmanager|ssm:GetParameters",
        "a secret could not be read: the execution role needs secretsmanager:GetSecretValue (or "
        "ssm:GetParameters) on it, kms:Decrypt on its key, and the subnets must reach Secrets Manager / SSM",
    ),
    (
        r"ResourceInitializationError",
        "the container could not be set up before it started: usually secrets, the log group, or no "
        "network route to ECR, Secrets Manager or CloudWatch Logs from the subnets",
    ),
    (
        r"access ?denied|not authorized|UnauthorizedOperation",
        "a permission was refused: the role named in the reason lacks the action it names",
    ),
    (r"CannotStartContainerError", "the container did not start: check the command and the image's entry point"),
    (r"OutOfMemory", "the container used more memory than the job reserved: raise memory_mib"),
    (r"Job attempt duration exceeded timeout", "the attempt ran longer than the job's timeout"),
    (r"Host EC2 .*terminated", "the instance went away (a Spot interruption or a scale-in): retry it"),
    (r"Dependent Job failed", "a job it depends on failed, so it was never started"),
    (
        r"MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        "AWS Batch found no instance type of the queue's compute that can hold the job",
    ),
    (
        r"MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "the job needs more vCPUs than the compute environments' maxvCpus",
    ),
    (r"MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS", "the Batch service role lacks a permission it needs"),
    (
        r"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "EC2 has no capacity for the instance types allowed: allow more types or zones",
    ),
)


def explain(reason: str | None) -> str | None:
    """What a status reason means, when it is one batchplane knows."""
    if not reason:
        return None
    return next((text for pattern, text in EXPLANATIONS if re.search(pattern, reason, re.IGNORECASE)), None)


@dataclass(frozen=True)
class Facts:
    """What AWS answered about a job and where it runs; ``unknown`` names what could not be read, and why."""

    job: Mapping[str, Any]
    queue: Mapping[str, Any] | None = None
    compute: tuple[Mapping[str, Any], ...] = ()
    definition: Mapping[str, Any] | None = None
    dependencies: tuple[Mapping[str, Any], ...] = ()
    summary: Mapping[str, Any] | None = None
    logs: tuple[str, ...] | None = None
    unknown: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnosis:
    """A verdict in one line (``cause`` names its kind), then the facts it rests on, as a JSON-ready document."""

    verdict: str
    cause: str
    job: dict[str, Any]
    queue: dict[str, Any] | None
    compute: list[dict[str, Any]]
    explanations: list[str]
    dependencies: list[dict[str, Any]]
    logs: list[str] | None
    unknown: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "cause": self.cause,
            "job": self.job,
            "queue": self.queue,
            "compute": self.compute,
            "explanations": self.explanations,
            "dependencies": self.dependencies,
            "logs": self.logs,
            "unknown": self.unknown,
        }


def _when(milliseconds: Any) -> str | None:
    if not isinstance(milliseconds, int | float) or milliseconds <= 0:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attempts(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "started": _when(a.get("startedAt")),
            "stopped": _when(a.get("stoppedAt")),
            "exit_code": (a.get("container") or {}).get("exitCode"),
            "reason": (a.get("container") or {}).get("reason") or a.get("statusReason"),
            "log_stream": (a.get("container") or {}).get("logStreamName"),
        }
        for a in job.get("attempts") or []
    ]


def exit_code(facts: Facts) -> int | None:
    """The last attempt's exit code: the job's container, its attempts, else its ListJobs summary."""
    candidates = [(facts.job.get("container") or {}).get("exitCode")]
    candidates += [a["exit_code"] for a in reversed(_attempts(facts.job))]
    candidates.append(((facts.summary or {}).get("container") or {}).get("exitCode"))
    return next((int(c) for c in candidates if c is not None), None)


def _reasons(facts: Facts) -> list[str]:
    job = facts.job
    found = [job.get("statusReason"), (job.get("container") or {}).get("reason")]
    found += [a["reason"] for a in reversed(_attempts(job))]
    return list(dict.fromkeys(str(r) for r in found if r))


def _job_document(facts: Facts, need: Demand | None) -> dict[str, Any]:
    job = facts.job
    array = job.get("arrayProperties") or {}
    return {
        "id": job.get("jobId"),
        "name": job.get("jobName"),
        "status": job.get("status"),
        "status_reason": job.get("statusReason"),
        "created": _when(job.get("createdAt")),
        "started": _when(job.get("startedAt")),
        "stopped": _when(job.get("stoppedAt")),
        "exit_code": exit_code(facts),
        "attempts": _attempts(job),
        "needs": None if need is None else {"vcpus": need.vcpus, "memory_mib": need.memory_mib, "gpus": need.gpus},
        "array": {"size": array.get("size"), "children": array.get("statusSummary")} if array else None,
        "depends_on": [d.get("jobId") for d in job.get("dependsOn") or []],
    }


def _queue_document(queue: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": queue.get("jobQueueName"),
        "state": queue.get("state"),
        "status": queue.get("status"),
        "status_reason": queue.get("statusReason"),
        "priority": queue.get("priority"),
        "scheduling_policy": queue.get("schedulingPolicyArn"),
    }


def _compute_document(compute: Mapping[str, Any], placed: Fit | None) -> dict[str, Any]:
    resources = compute.get("computeResources") or {}
    return {
        "name": compute.get("computeEnvironmentName"),
        "state": compute.get("state"),
        "status": compute.get("status"),
        "status_reason": compute.get("statusReason"),
        "type": resources.get("type") or compute.get("type"),
        "instance_types": list(resources.get("instanceTypes") or []),
        "max_vcpus": resources.get("maxvCpus"),
        "desired_vcpus": resources.get("desiredvCpus"),
        "fits": None if placed is None else placed.fits,
        "fit": None if placed is None else placed.reason,
    }


def _usable(compute: Mapping[str, Any]) -> bool:
    return compute.get("state") == "ENABLED" and compute.get("status") not in ("INVALID", "DELETING", "DELETED")


def _waiting_verdict(facts: Facts, need: Demand | None, fits: list[Fit | None]) -> tuple[str, str]:
    """Why a RUNNABLE job (or array children) is not running: placement first, then compute, queue, headroom."""
    for fact in ("queue", "compute"):
        if fact in facts.unknown:
            return "unknown", f"waiting to be placed; its {fact} could not be read: {facts.unknown[fact]}"
    queue = facts.queue or {}
    if need is not None and fits and all(f is not None and f.fits is False for f in fits):
        return "unplaceable", f"cannot be placed: {next(f.reason for f in fits if f is not None)}"
    if queue.get("status") == "INVALID":
        return "queue-invalid", f"queue {queue.get('jobQueueName')} is INVALID: {queue.get('statusReason')}"
    usable = [(c, f) for c, f in zip(facts.compute, fits, strict=True) if _usable(c)]
    if not usable:
        broken = "; ".join(
            f"{c.get('computeEnvironmentName')} {c.get('state')}, {c.get('status')}"
            + (f" ({c.get('statusReason')})" if c.get("statusReason") else "")
            for c in facts.compute
        )
        return "compute-unusable", f"no usable compute environment: {broken or 'the queue has none'}"
    if queue.get("state") == "DISABLED":
        return "queue-disabled", f"queue {queue.get('jobQueueName')} is DISABLED: it refuses new jobs"
    if need is not None and all(f is not None and f.fits is False for _, f in usable):
        return "unplaceable", f"cannot be placed on its usable compute: {next(f.reason for _, f in usable if f)}"
    reason = facts.job.get("statusReason")
    if reason and explain(reason):
        return "blocked", f"blocked: {reason}"
    holding = [c for c, f in usable if f is not None and f.fits]
    if not holding:
        return "unknown", "waiting to be placed; whether its usable compute can hold it is unknown (see below)"
    if all(_headroom(c, need) is False for c in holding):
        return "waiting-capacity", "waiting for capacity: the compute that can hold it is at its maxvCpus"
    return "waiting-capacity", "waiting for capacity: the queue and its compute can hold it; instances may be starting"


def _headroom(compute: Mapping[str, Any], need: Demand | None) -> bool | None:
    resources = compute.get("computeResources") or {}
    most, desired = resources.get("maxvCpus"), resources.get("desiredvCpus")
    if need is None or most is None or desired is None:
        return None
    return bool(most - desired >= need.vcpus)


def _dependency_verdict(facts: Facts) -> tuple[str, str] | None:
    for dependency in facts.dependencies:
        status, name = dependency.get("status"), f"{dependency.get('jobName')} ({dependency.get('jobId')})"
        if status == "FAILED":
            return "dependency-failed", f"will not run: dependency {name} FAILED"
        if status != "SUCCEEDED":
            return "waiting-dependency", f"waiting on dependency {name}: {status}"
    if "dependencies" in facts.unknown:
        return "unknown", "waiting on dependencies that could not be read: " + facts.unknown["dependencies"]
    return None


def _failed_verdict(facts: Facts) -> tuple[str, str]:
    reasons = _reasons(facts)
    for reason in reasons:
        if re.search(r"CannotPullContainer|unable to (pull|retrieve) secret|ResourceInitialization", reason, re.I):
            return "image-or-credentials", f"failed before it ran: {reason}"
    code = exit_code(facts)
    if code is not None:
        return "failed", f"failed: exit code {code}" + (f" ({reasons[0]})" if reasons else "")
    return "failed", "failed: " + (reasons[0] if reasons else "no exit code and no reason given")


def diagnose(facts: Facts) -> Diagnosis:
    """The likely cause of a job's state, from what AWS answered."""
    job = facts.job
    container = job.get("container") or (facts.definition or {}).get("containerProperties")
    need = needs(container)
    fits: list[Fit | None] = [None if need is None else fit(need, c) for c in facts.compute]
    status = str(job.get("status"))
    array = job.get("arrayProperties") or {}
    children = array.get("statusSummary") or {}
    if status == "FAILED":
        cause, verdict = _failed_verdict(facts)
    elif status == "SUCCEEDED":
        cause, verdict = (
            "succeeded",
            "succeeded" + (f" (exit code {exit_code(facts)})" if exit_code(facts) is not None else ""),
        )
    elif status in ("RUNNING", "STARTING"):
        cause, verdict = status.lower(), f"{status.lower()} since {_when(job.get('startedAt')) or 'an unknown time'}"
    elif status in ("SUBMITTED", "PENDING") and (found := _dependency_verdict(facts)):
        cause, verdict = found
    elif status == "RUNNABLE" or children.get("RUNNABLE"):
        cause, verdict = _waiting_verdict(facts, need, fits)
    elif status == "SUBMITTED":
        cause, verdict = "submitted", "submitted: the scheduler has not evaluated it yet"
    else:
        cause, verdict = status.lower(), f"{status.lower()}: {job.get('statusReason') or 'no reason given'}"
    if children and status not in DONE:
        verdict += " [array: " + ", ".join(f"{n} {s}" for s, n in children.items() if n) + "]"
    unknown = dict(facts.unknown)
    if need is None and status not in DONE:
        unknown.setdefault("needs", "the job's vCPU and memory are not in its description nor its definition's")
    return Diagnosis(
        verdict=verdict,
        cause=cause,
        job=_job_document(facts, need),
        queue=None if facts.queue is None else _queue_document(facts.queue),
        compute=[_compute_document(c, f) for c, f in zip(facts.compute, fits, strict=True)],
        explanations=list(dict.fromkeys(e for r in _reasons(facts) if (e := explain(r)))),
        dependencies=[
            {"id": d.get("jobId"), "name": d.get("jobName"), "status": d.get("status")} for d in facts.dependencies
        ],
        logs=None if facts.logs is None else list(facts.logs),
        unknown=unknown,
    )


def _state(document: Mapping[str, Any]) -> str:
    text = ", ".join(str(document.get(k)) for k in ("state", "status") if document.get(k))
    return text + (f" ({document['status_reason']})" if document.get("status_reason") else "")


def lines(found: Diagnosis) -> list[str]:
    """The diagnosis for a terminal: the verdict, then one block per thing it rests on."""
    job = found.job
    shown = [found.verdict, "", f"job       {job['name']} ({job['id']}): {job['status']}"]
    if job["status_reason"]:
        shown.append(f"          reason: {job['status_reason']}")
    times = ", ".join(f"{k} {job[k]}" for k in ("created", "started", "stopped") if job[k])
    shown.append(f"          {times or 'no times recorded'}")
    if job["needs"]:
        shown.append(f"          needs {Demand(**job['needs']).describe()}")
    if job["array"]:
        shown.append(f"          array of {job['array']['size']}: {job['array']['children']}")
    for number, attempt in enumerate(job["attempts"], 1):
        code = "no exit code" if attempt["exit_code"] is None else f"exit code {attempt['exit_code']}"
        shown.append(f"          attempt {number}: {code}" + (f", {attempt['reason']}" if attempt["reason"] else ""))
    for dependency in found.dependencies:
        shown.append(f"depends   {dependency['name']} ({dependency['id']}): {dependency['status']}")
    if found.queue:
        shown.append(f"queue     {found.queue['name']}: {_state(found.queue)}")
    for order, compute in enumerate(found.compute, 1):
        types = ", ".join(compute["instance_types"]) or "-"
        shown.append(
            f"compute {order} {compute['name']}: {_state(compute)}; {compute['type']} [{types}], "
            f"max {compute['max_vcpus']} vCPU (desired {compute['desired_vcpus']})"
        )
        if compute["fit"]:
            shown.append(f"          {compute['fit']}")
    shown += [f"why       {text}" for text in found.explanations]
    shown += [f"unknown   {what}: {why}" for what, why in found.unknown.items()]
    if found.logs:
        shown += ["", f"last {len(found.logs)} log lines:", *(f"  {line}" for line in found.logs)]
    return shown

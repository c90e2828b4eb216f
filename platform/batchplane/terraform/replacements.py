"""What replacing a Batch resource does to the jobs, and when a replacement needs an explicit yes.

Terraform says *that* a compute environment, job queue or scheduling policy is
replaced and which attribute forces it (``replace_paths``); a reviewer needs to
know what that does to the work: is the queue repointed or deleted, what
happens to jobs waiting in it and to jobs running. The texts below say what AWS
Batch documents (API reference: DeleteComputeEnvironment, DeleteJobQueue,
UpdateComputeEnvironment, UpdateJobQueue, DeleteSchedulingPolicy) and what the
AWS provider does (a compute environment is disabled, then deleted, without
waiting for its jobs; a queue is disabled, then deleted), for the order the
plan's actions give: ``["create", "delete"]`` is create-before-destroy.

A plan that replaces a job queue terminates its jobs: in a production tier it
is applied only with ``--allow-queue-replacement`` (:func:`refuse_queue_replacement`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from batchplane.errors import BatchplaneError, ExitCode

COMPUTE = "aws_batch_compute_environment"
QUEUE = "aws_batch_job_queue"
POLICY = "aws_batch_scheduling_policy"
KINDS = {COMPUTE: "compute environment", QUEUE: "job queue", POLICY: "scheduling policy"}
"""The resource types whose replacement touches jobs, and what a reader calls them."""

ALLOW_FLAG = "--allow-queue-replacement"


@dataclass(frozen=True)
class Replacement:
    """One replaced Batch resource: what forces it, and what it does to queued and running jobs."""

    address: str
    kind: str
    forced_by: tuple[str, ...]
    create_first: bool
    steps: str
    queued_jobs: str
    running_jobs: str

    @property
    def is_queue(self) -> bool:
        return self.kind == KINDS[QUEUE]

    def reason(self) -> str:
        return ", ".join(self.forced_by) if self.forced_by else "an attribute terraform cannot update in place"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Replacement:
        return cls(
            data["address"],
            data["kind"],
            tuple(data["forced_by"]),
            bool(data["create_first"]),
            data["steps"],
            data["queued_jobs"],
            data["running_jobs"],
        )


def _compute(before: dict[str, Any], create_first: bool) -> tuple[str, str, str]:
    resources = before.get("compute_resources") or [{}]
    fargate = str((resources[0] or {}).get("type", "")).upper().startswith("FARGATE")
    if not create_first:
        steps = (
            "The old environment is deleted before its replacement exists: AWS deletes only a DISABLED environment "
            "that no queue uses, so while a queue still uses it the apply fails "
            '("Cannot delete, found existing JobQueue relationship").'
        )
    else:
        steps = (
            "A new environment is created first and every queue that uses this one is pointed at it; then the old "
            "one is disabled and deleted (AWS deletes only a DISABLED environment that no queue uses)."
        )
    queued = (
        "Not lost: jobs waiting in the queues are placed on the new environment once their queue points at it "
        "(a job larger than every new instance type would wait in RUNNABLE)."
    )
    if fargate:
        running = (
            "AWS requires every active job of a Fargate environment to end before the environment is deleted; "
            "terraform does not wait for them, and with jobs still active the old environment becomes INVALID and "
            "its deletion can fail. Apply when no job runs there."
        )
    else:
        running = (
            "Jobs STARTING or RUNNING on the old environment keep running while it is disabled, but terraform "
            "deletes it right after, without waiting for them: its instances go with it, so those jobs fail "
            "(their retry strategy decides whether they run again). Apply when no job runs there."
        )
    return steps, queued, running


def _queue(create_first: bool, forced_by: tuple[str, ...]) -> tuple[str, str, str]:
    if create_first:
        steps = "A new queue is created, then the old one is disabled and deleted."
    else:
        steps = "The queue is disabled, deleted and created again."
    steps += " A new name gives it a new ARN." if "name" in forced_by else " Its name, and so its ARN, stay the same."
    steps += " Until the new queue is VALID, job submissions to it fail, those of schedules and triggers too."
    queued = (
        "Lost: AWS terminates every job in a deleted queue, so SUBMITTED, PENDING and RUNNABLE jobs end FAILED "
        "without running; submit them again after the apply."
    )
    running = (
        "Terminated: STARTING and RUNNING jobs of the queue are stopped and end FAILED (AWS terminates them at "
        "about 16 jobs a second). Drain the queue before applying."
    )
    return steps, queued, running


def _policy(create_first: bool) -> tuple[str, str, str]:
    if create_first:
        steps = (
            "A new scheduling policy is created and the queue is pointed at it (a fair-share queue can swap its "
            "policy, never drop it); then the old policy is deleted."
        )
    else:
        steps = (
            "The old scheduling policy is deleted before the new one exists: AWS refuses to delete a policy a queue "
            "still uses, so this works only when its queue is replaced in the same apply (see the queue's entry)."
        )
    queued = (
        "Stay queued, unless the queue itself is replaced; they are then ordered by the new policy's share weights."
    )
    running = "Not interrupted by the policy change itself."
    return steps, queued, running


def replacement_of(resource: dict[str, Any], forced_by: tuple[str, ...]) -> Replacement | None:
    """The :class:`Replacement` of a plan JSON ``resource_changes`` entry that replaces a Batch resource."""
    kind = resource.get("type")
    change = resource.get("change", {})
    actions = list(change.get("actions", []))
    if kind not in KINDS or set(actions) != {"create", "delete"}:
        return None
    create_first = actions[0] == "create"
    if kind == COMPUTE:
        steps, queued, running = _compute(change.get("before") or {}, create_first)
    elif kind == QUEUE:
        steps, queued, running = _queue(create_first, forced_by)
    else:
        steps, queued, running = _policy(create_first)
    return Replacement(resource["address"], KINDS[kind], forced_by, create_first, steps, queued, running)


class QueueReplacementRefusedError(BatchplaneError):
    """A production tier's saved plan replaces a job queue and the apply was not told it may."""

    exit_code = ExitCode.POLICY_FAILED


def queue_replacements(replacements: Iterable[Replacement]) -> list[Replacement]:
    return [r for r in replacements if r.is_queue]


def refuse_queue_replacement(
    root: str, replacements: Iterable[Replacement], *, production: bool, allowed: bool
) -> None:
    """Refuse (exit 4) to apply a production tier's plan that replaces a job queue, unless ``allowed``.

    The saved plan is left as it is: the same plan applies once the flag is given.
    """
    queues = queue_replacements(replacements)
    if not queues or not production or allowed:
        return
    named = "; ".join(f"{r.address} (forced by {r.reason()})" for r in queues)
    raise QueueReplacementRefusedError(
        f"{root} is a production tier and its saved plan replaces {len(queues)} job queue(s): {named}. "
        "AWS terminates every job of a deleted queue, queued and running. Nothing was applied and the saved plan "
        f"is kept: drain the queue, then apply it with {ALLOW_FLAG}"
    )

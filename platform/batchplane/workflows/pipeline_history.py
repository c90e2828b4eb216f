"""What a pipeline's execution did, read from its state machine and execution history (no AWS calls).

A pipeline is a Step Functions state machine whose Batch steps are ``Task``
states on ``arn:aws:states:::batch:submitJob[.sync]``, named after the steps.
:func:`batch_steps` lists them in dependency order (the order Step Functions
can enter them), :func:`progress_of` reads each one's state from the
execution history: entered, its job submitted (and the job id), succeeded or
failed (with the error and cause), or never started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from graphlib import TopologicalSorter
from typing import Any

BATCH_RESOURCE = "arn:aws:states:::batch:submitJob"
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

PENDING = "PENDING"
"""Not entered yet; the execution is still running."""
NOT_RUN = "NOT_RUN"
"""Never entered, and the execution has ended: a step before it failed (or the run was stopped)."""
STARTING = "STARTING"
"""Entered: its job is being submitted."""
SUBMITTED = "SUBMITTED"
"""Its job was submitted; Batch's own status tells more."""


@dataclass(frozen=True)
class StepDefinition:
    """A Batch step of the state machine: the Task state's name and its array size, if any."""

    name: str
    array_size: int | None


@dataclass(frozen=True)
class StepProgress:
    """A step as the execution history tells it."""

    name: str
    status: str
    job_id: str | None = None
    entered_at: datetime | None = None
    error: str | None = None
    cause: str | None = None
    failed_event: int | None = None  # the event id of its failure, to name the first step that failed


def _successors(state: Mapping[str, Any]) -> Iterator[str]:
    """The states a state can go to next: Next, a Choice's targets, a Catch's targets."""
    if isinstance(state.get("Next"), str):
        yield state["Next"]
    if isinstance(state.get("Default"), str):
        yield state["Default"]
    for rule in list(state.get("Choices") or []) + list(state.get("Catch") or []):
        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
            yield rule["Next"]


def _add_scope(graph: TopologicalSorter[str], states: Mapping[str, Any], before: Sequence[str]) -> list[str]:
    """Add one scope's states (a branch or the machine) to ``graph``; returns all of them, branches included."""
    names: list[str] = []
    for name, state in states.items():
        graph.add(name, *before)
        names.append(name)
        for successor in _successors(state):
            graph.add(successor, name)
        for branch in state.get("Branches") or []:
            inner = _add_scope(graph, branch.get("States") or {}, [name])
            for successor in _successors(state):  # a Parallel state's Next waits for every branch
                graph.add(successor, *inner)
            names.extend(inner)
    return names


def _is_batch_task(state: Mapping[str, Any]) -> bool:
    resource = state.get("Resource")
    return state.get("Type") == "Task" and isinstance(resource, str) and resource.startswith(BATCH_RESOURCE)


def _all_states(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches") or []:
            yield from _all_states(branch.get("States") or {})


def _array_size(state: Mapping[str, Any]) -> int | None:
    parameters = state.get("Parameters") or {}
    size = (parameters.get("ArrayProperties") or {}).get("Size")
    return size if isinstance(size, int) else None


def batch_steps(definition: Mapping[str, Any]) -> list[StepDefinition]:
    """The Batch steps of a state machine definition, every step after the steps it depends on."""
    graph: TopologicalSorter[str] = TopologicalSorter()
    _add_scope(graph, definition.get("States") or {}, [])
    states = dict(_all_states(definition.get("States") or {}))
    return [
        StepDefinition(name, _array_size(states[name]))
        for name in graph.static_order()
        if name in states and _is_batch_task(states[name])
    ]


def _owners(events: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Event id -> the state it belongs to: a state's events follow its ``*StateEntered`` event."""
    owner: dict[int, str] = {}
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            owner[int(event["id"])] = str(entered["name"])
        elif int(event.get("previousEventId") or 0) in owner:
            owner[int(event["id"])] = owner[int(event["previousEventId"])]
    return owner


def _job_id(details: Mapping[str, Any]) -> str | None:
    try:
        output = json.loads(details.get("output") or "{}")
    except json.JSONDecodeError:
        return None
    job_id = output.get("JobId") if isinstance(output, dict) else None
    return str(job_id) if job_id else None


def _after(step: StepProgress, event: Mapping[str, Any]) -> StepProgress:
    """``step`` once ``event`` (one of its state's events) happened."""
    kind = str(event.get("type", ""))
    if kind == "TaskStateEntered":
        return StepProgress(step.name, STARTING, entered_at=event.get("timestamp"))
    if kind == "TaskScheduled":  # also a retry's next attempt: a new job
        return StepProgress(step.name, STARTING, entered_at=step.entered_at)
    if kind == "TaskSubmitted":
        details = event.get("taskSubmittedEventDetails") or {}
        return StepProgress(step.name, SUBMITTED, _job_id(details) or step.job_id, step.entered_at)
    if kind == "TaskSucceeded":
        details = event.get("taskSucceededEventDetails") or {}
        return StepProgress(step.name, "SUCCEEDED", _job_id(details) or step.job_id, step.entered_at)
    if kind in ("TaskFailed", "TaskTimedOut"):
        details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
        status = "FAILED" if kind == "TaskFailed" else "TIMED_OUT"
        return StepProgress(
            step.name,
            status,
            step.job_id,
            step.entered_at,
            error=details.get("error"),
            cause=details.get("cause"),
            failed_event=int(event["id"]),
        )
    if kind == "TaskStateAborted" and step.status not in ENDED:
        return StepProgress(step.name, "ABORTED", step.job_id, step.entered_at)
    return step


def progress_of(
    steps: Sequence[StepDefinition], events: Sequence[Mapping[str, Any]], execution_status: str
) -> list[StepProgress]:
    """Each step's progress after ``events`` (the execution history, oldest first), in ``steps`` order.

    A step retried by its state's ``Retry`` shows its last attempt: the latest job and outcome.
    """
    owner = _owners(events)
    progress = {step.name: StepProgress(step.name, PENDING) for step in steps}
    for event in events:
        name = owner.get(int(event["id"]))
        if name in progress:
            progress[name] = _after(progress[name], event)
    unstarted = NOT_RUN if execution_status in ENDED else PENDING
    return [
        StepProgress(step.name, unstarted) if progress[step.name].status == PENDING else progress[step.name]
        for step in steps
    ]


def failed_step(progress: Sequence[StepProgress]) -> StepProgress | None:
    """The step that failed first (by history order), if any did."""
    failed = [step for step in progress if step.failed_event is not None]
    return min(failed, key=lambda step: step.failed_event or 0) if failed else None

"""Pipelines: a state machine's Batch steps in dependency order, an execution's history read step by step."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.workflows import pipelines
from batchplane.workflows.pipeline_history import (
    NOT_RUN,
    PENDING,
    STARTING,
    SUBMITTED,
    StepDefinition,
    batch_steps,
    failed_step,
    progress_of,
)
from tests.conftest import REPO

SYNC = "arn:aws:states:::batch:submitJob.sync"


def _task(job: str, following: str | None = None, size: int | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"JobName": job, "JobQueue": "q", "JobDefinition": job}
    if size is not None:
        parameters["ArrayProperties"] = {"Size": size}
    state: dict[str, Any] = {"Type": "Task", "Resource": SYNC, "Parameters": parameters}
    state.update({"Next": following} if following else {"End": True})
    return state


# --- the steps of a state machine, in dependency order -------------------------------------------


def test_a_chain_is_listed_from_its_start_whatever_the_order_of_the_states() -> None:
    definition = {
        "StartAt": "ingest",
        "States": {
            "report": _task("report", size=4),
            "check": _task("check", "report"),
            "ingest": _task("ingest", "check"),
        },
    }
    assert batch_steps(definition) == [
        StepDefinition("ingest", None),
        StepDefinition("check", None),
        StepDefinition("report", 4),
    ]


def test_parallel_branches_come_after_what_precedes_them_and_before_what_follows() -> None:
    definition = {
        "StartAt": "ingest",
        "States": {
            "publish": _task("publish"),
            "fan-out": {
                "Type": "Parallel",
                "Next": "publish",
                "Branches": [
                    {"StartAt": "check", "States": {"check": _task("check", "score"), "score": _task("score")}},
                    {"StartAt": "lint", "States": {"lint": _task("lint")}},
                ],
            },
            "ingest": _task("ingest", "fan-out"),
        },
    }
    order = [step.name for step in batch_steps(definition)]
    assert sorted(order) == ["check", "ingest", "lint", "publish", "score"]
    assert order[0] == "ingest"
    assert order[-1] == "publish"
    assert order.index("check") < order.index("score")


def test_states_that_are_not_batch_tasks_are_not_steps() -> None:
    definition = {
        "StartAt": "wait",
        "States": {
            "wait": {"Type": "Wait", "Seconds": 1, "Next": "notify"},
            "notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "run"},
            "run": _task("run", "done"),
            "done": {"Type": "Succeed"},
        },
    }
    assert batch_steps(definition) == [StepDefinition("run", None)]


def test_a_catch_target_comes_after_the_step_it_catches() -> None:
    failing = _task("a", "b") | {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "cleanup"}]}
    definition = {"StartAt": "a", "States": {"cleanup": _task("cleanup"), "b": _task("b"), "a": failing}}
    order = [step.name for step in batch_steps(definition)]
    assert order.index("a") < order.index("cleanup")
    assert order.index("a") < order.index("b")


# --- an execution's history, step by step ----------------------------------------------------------

STEPS = [StepDefinition("a", None), StepDefinition("b", 3), StepDefinition("c", None)]
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


class History:
    """Events as Step Functions writes them: ids in order, each pointing at the one before in its state."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = [{"id": 1, "previousEventId": 0, "type": "ExecutionStarted"}]
        self._last: dict[str, int] = {}

    def add(self, state: str, kind: str, **details: Any) -> History:
        event: dict[str, Any] = {"id": len(self.events) + 1, "type": kind, "timestamp": T0}
        if kind == "TaskStateEntered":
            event["previousEventId"] = self.events[-1]["id"]
            event["stateEnteredEventDetails"] = {"name": state, "input": "{}"}
        else:
            event["previousEventId"] = self._last[state]
            event.update(details)
        self._last[state] = event["id"]
        self.events.append(event)
        return self

    def submitted(self, state: str, job_id: str) -> History:
        output = json.dumps({"JobId": job_id, "JobName": f"job-{state}"})
        return self.add(state, "TaskScheduled").add(
            state, "TaskSubmitted", taskSubmittedEventDetails={"resourceType": "batch", "output": output}
        )

    def succeeded(self, state: str, job_id: str) -> History:
        output = json.dumps({"JobId": job_id, "Status": "SUCCEEDED"})
        return self.add(state, "TaskSucceeded", taskSucceededEventDetails={"output": output}).add(
            state, "TaskStateExited"
        )

    def failed(self, state: str, cause: str = "{}") -> History:
        details = {"error": "States.TaskFailed", "cause": cause}
        return self.add(state, "TaskFailed", taskFailedEventDetails=details)


def test_a_running_execution_shows_done_running_and_pending_steps() -> None:
    history = History().add("a", "TaskStateEntered").submitted("a", "j-a").succeeded("a", "j-a")
    history.add("b", "TaskStateEntered").submitted("b", "j-b")
    progress = progress_of(STEPS, history.events, "RUNNING")
    assert [(p.name, p.status, p.job_id) for p in progress] == [
        ("a", "SUCCEEDED", "j-a"),
        ("b", SUBMITTED, "j-b"),
        ("c", PENDING, None),
    ]
    assert progress[0].entered_at == T0
    assert failed_step(progress) is None


def test_a_step_being_submitted_has_no_job_yet() -> None:
    history = History().add("a", "TaskStateEntered").add("a", "TaskScheduled")
    first = progress_of(STEPS, history.events, "RUNNING")[0]
    assert (first.status, first.job_id) == (STARTING, None)


def test_a_failed_step_is_named_and_the_steps_after_it_never_ran() -> None:
    history = History().add("a", "TaskStateEntered").submitted("a", "j-a").succeeded("a", "j-a")
    history.add("b", "TaskStateEntered").submitted("b", "j-b").failed("b", cause='{"Status": "FAILED"}')
    progress = progress_of(STEPS, history.events, "FAILED")
    assert [(p.name, p.status) for p in progress] == [("a", "SUCCEEDED"), ("b", "FAILED"), ("c", NOT_RUN)]
    failed = failed_step(progress)
    assert failed is not None
    assert (failed.name, failed.job_id, failed.error) == ("b", "j-b", "States.TaskFailed")
    assert failed.cause == '{"Status": "FAILED"}'


def test_a_step_that_could_not_even_be_submitted_fails_without_a_job() -> None:
    history = History().add("a", "TaskStateEntered").add("a", "TaskScheduled").failed("a", "Job queue q does not exist")
    first = progress_of(STEPS, history.events, "FAILED")[0]
    assert (first.status, first.job_id, first.cause) == ("FAILED", None, "Job queue q does not exist")


def test_a_retried_step_shows_its_last_attempt() -> None:
    history = History().add("a", "TaskStateEntered").submitted("a", "j-1").failed("a")
    history.submitted("a", "j-2").succeeded("a", "j-2")
    first = progress_of(STEPS, history.events, "RUNNING")[0]
    assert (first.status, first.job_id, first.failed_event) == ("SUCCEEDED", "j-2", None)


def test_the_first_failure_in_history_order_is_the_failing_step() -> None:
    parallel = [StepDefinition("x", None), StepDefinition("y", None)]
    history = History().add("y", "TaskStateEntered").add("x", "TaskStateEntered")
    history.submitted("y", "j-y").submitted("x", "j-x").failed("y").failed("x")
    failed = failed_step(progress_of(parallel, history.events, "FAILED"))
    assert failed is not None
    assert failed.name == "y"


# --- what the command says ------------------------------------------------------------------------


def _execution(status: str, failed: str | None, steps: tuple[pipelines.Step, ...]) -> pipelines.Execution:
    return pipelines.Execution(
        "arn:aws:states:eu-west-1:1:execution:acme-dev-nightly:run-1", "run-1", "acme-dev-nightly", status,
        None, None, "States.TaskFailed", "{}", failed, steps,
    )  # fmt: skip


def _step(name: str, status: str, job_id: str | None, exit_code: int | None = None) -> pipelines.Step:
    return pipelines.Step(
        name, status, job_id, f"acme-dev-{name}", None, None, None, None, "Essential container exited", exit_code,
        None, None, (),
    )  # fmt: skip


def test_a_failed_execution_is_exit_5_naming_the_step_and_its_job() -> None:
    execution = _execution("FAILED", "check", (_step("ingest", "SUCCEEDED", "j-1"), _step("check", "FAILED", "j-2", 1)))
    error = pipelines.failure(execution)
    assert error.exit_code == ExitCode.TOOL_FAILED
    assert str(error) == (
        "pipeline acme-dev-nightly (run-1) FAILED at step check: "
        "job acme-dev-check (j-2) FAILED (Essential container exited, exit code 1)"
    )


def test_an_execution_that_failed_before_any_job_says_why() -> None:
    error = pipelines.failure(_execution("FAILED", None, (_step("ingest", NOT_RUN, None),)))
    assert str(error) == "pipeline acme-dev-nightly (run-1) FAILED: States.TaskFailed: {}"


def test_batch_timestamps_are_iso_utc_and_zero_is_none() -> None:
    assert pipelines._iso(0) is None
    assert pipelines._iso(T0) == "2026-11-30T01:00:00+00:00"
    assert pipelines._iso(int(T0.timestamp() * 1000)) == "2026-11-30T01:00:00+00:00"


def test_running_a_pipeline_the_spec_does_not_declare_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        app, ["pipelines", "run", "no-such-pipeline", "--env", "dev", "--spec", str(REPO / "platform.yaml")]
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "no pipeline named 'no-such-pipeline' in platform.yaml" in result.stderr


# --- the commands' output, around an execution as the workflow describes it -----------------------

SUCCEEDED_RUN = _execution(
    "SUCCEEDED",
    None,
    (
        pipelines.Step(
            "ingest", "SUCCEEDED", "j-1", "acme-dev-csv-ingest", None, "2026-11-30T01:00:00+00:00",
            "2026-11-30T01:00:01+00:00", "2026-11-30T01:00:13.500000+00:00", None, 0, None, None, (),
        ),
        pipelines.Step(
            "report", "SUCCEEDED", "j-2", "acme-dev-nightly-report", 2, "2026-11-30T01:00:14+00:00",
            "2026-11-30T01:00:15+00:00", "2026-11-30T01:00:20+00:00", None, None, None, None,
            (
                pipelines.Child(0, "j-2:0", "SUCCEEDED", "2026-11-30T01:00:15+00:00", "2026-11-30T01:00:20+00:00", 0),
                pipelines.Child(1, "j-2:1", "SUCCEEDED", "2026-11-30T01:00:15+00:00", "2026-11-30T01:00:19+00:00", 0),
            ),
        ),
    ),
)  # fmt: skip


def _workflow(monkeypatch: pytest.MonkeyPatch, final: pipelines.Execution) -> list[str]:
    """The workflow's AWS calls replaced by ``final``; returns the pipelines started."""
    started: list[str] = []
    monkeypatch.setattr(pipelines, "declared_pipelines", lambda spec: ["nightly"])
    monkeypatch.setattr(pipelines, "clients", lambda spec, environment, emulator: pipelines.Clients(None, None))
    monkeypatch.setattr(pipelines, "find_state_machine", lambda sfn, name: f"arn:machine:{name}")
    monkeypatch.setattr(pipelines, "start", lambda sfn, machine, name: started.append(machine) or final.execution_arn)
    monkeypatch.setattr(pipelines, "follow", lambda clients, arn, **_: final)
    monkeypatch.setattr(pipelines, "describe", lambda clients, arn: final)
    return started


def test_run_wait_prints_every_step_and_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    started = _workflow(monkeypatch, SUCCEEDED_RUN)
    spec = str(REPO / "platform.yaml")
    result = CliRunner().invoke(app, ["pipelines", "run", "nightly", "--env", "dev", "--wait", "--spec", spec])
    assert result.exit_code == 0, result.output
    assert started == ["arn:machine:acme-dev-nightly"]
    assert result.stdout.splitlines() == [
        "acme-dev-nightly run-1: SUCCEEDED",
        "  ingest: SUCCEEDED, job j-1, exit code 0, started 2026-11-30 01:00:01 UTC, ran 12.5 s",
        "  report: SUCCEEDED, job j-2, 2/2 children SUCCEEDED, started 2026-11-30 01:00:15 UTC, ran 5.0 s",
    ]


def test_run_without_wait_prints_the_execution_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    _workflow(monkeypatch, SUCCEEDED_RUN)
    spec = str(REPO / "platform.yaml")
    result = CliRunner().invoke(app, ["pipelines", "run", "nightly", "--env", "dev", "--json", "--spec", spec])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "execution_arn": SUCCEEDED_RUN.execution_arn,
        "pipeline": "nightly",
        "state_machine": "acme-dev-nightly",
    }


def test_a_failed_run_with_wait_and_json_is_one_document_and_exit_5(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = _execution("FAILED", "check", (_step("ingest", "SUCCEEDED", "j-1"), _step("check", "FAILED", "j-2", 1)))
    _workflow(monkeypatch, failed)
    spec = str(REPO / "platform.yaml")
    result = CliRunner().invoke(app, ["pipelines", "run", "nightly", "-e", "dev", "--wait", "--json", "--spec", spec])
    assert result.exit_code == ExitCode.TOOL_FAILED
    document = json.loads(result.stdout)  # one document: the execution, its failure in it
    assert (document["status"], document["failed_step"]) == ("FAILED", "check")
    assert [step["status"] for step in document["steps"]] == ["SUCCEEDED", "FAILED"]
    assert "FAILED at step check: job acme-dev-check (j-2) FAILED" in result.stderr


def test_status_shows_the_failing_step(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = _execution("FAILED", "check", (_step("ingest", "SUCCEEDED", "j-1"), _step("check", "FAILED", "j-2", 1)))
    _workflow(monkeypatch, failed)
    monkeypatch.setattr(pipelines, "execution_arn", lambda sfn, prefix, name: f"arn:{prefix}{name}")
    result = CliRunner().invoke(
        app, ["pipelines", "status", "run-1", "--env", "dev", "--spec", str(REPO / "platform.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "acme-dev-nightly run-1: FAILED at step check",
        "  ingest: SUCCEEDED, job j-1",
        "  check: FAILED, job j-2, exit code 1 (Essential container exited)",
    ]

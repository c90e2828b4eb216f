"""``pipelines run|status``: start a pipeline's execution in an environment, follow it step by step.

Parsing and printing only; the work is in :mod:`batchplane.workflows.pipelines`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from batchplane import console
from batchplane.cli.options import JsonOption, LocalOption, OneEnvOption, SpecOption, known_environment, load
from batchplane.cli.plain import Command, Group
from batchplane.local.emulator import require_emulator
from batchplane.progress import tracker
from batchplane.spec import Spec
from batchplane.workflows import pipelines

pipelines_app = typer.Typer(
    cls=Group, help="Run the spec's pipelines (Step Functions) and follow them step by step.", no_args_is_help=True
)


def _clients(spec: Spec, environment: str, use_local: bool) -> pipelines.Clients:
    """Step Functions and Batch clients of an environment: the local AWS's with --local, else AWS's."""
    return pipelines.clients(spec, environment, require_emulator(spec.root) if use_local else None)


def _when(started: str, stopped: str | None) -> str:
    """``started 2026-11-30 01:00:05 UTC, ran 12.3 s`` (``running`` until it stopped)."""
    start = datetime.fromisoformat(started)
    shown = f"started {start:%Y-%m-%d %H:%M:%S} UTC"
    if stopped is None:
        return shown + ", running"
    return shown + f", ran {(datetime.fromisoformat(stopped) - start).total_seconds():.1f} s"


def _step_line(step: pipelines.Step) -> str:
    line = f"  {step.name}: {step.status}"
    if step.job_id:
        line += f", job {step.job_id}"
    if step.exit_code is not None:
        line += f", exit code {step.exit_code}"
    if step.children:
        done = sum(1 for child in step.children if child.status == "SUCCEEDED")
        line += f", {done}/{len(step.children)} children SUCCEEDED"
    if step.started_at:
        line += f", {_when(step.started_at, step.stopped_at)}"
    if step.reason and step.status != "SUCCEEDED":
        line += f" ({step.reason})"
    return line


def _print(execution: pipelines.Execution, as_json: bool) -> None:
    if as_json:
        console.print_json(execution.as_dict())
        return
    header = f"{execution.state_machine} {execution.name}: {execution.status}"
    if execution.failed_step:
        header += f" at step {execution.failed_step}"
    console.out.print(header, markup=False)
    for step in execution.steps:
        console.out.print(_step_line(step), markup=False)


def _summary(execution: pipelines.Execution) -> str:
    steps = ", ".join(f"{step.name} {step.status}" for step in execution.steps)
    return f"{execution.name}: {execution.status} ({steps})"


@pipelines_app.command("run", cls=Command)
def pipelines_run(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The pipeline (a key of `pipelines` in the spec).")],
    env: OneEnvOption,
    use_local: LocalOption = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow it until it ends; exit 5 when it did not succeed.")
    ] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start an execution of a pipeline in an environment."""
    loaded = load(spec)
    environment = known_environment(loaded, env)
    machine_name = pipelines.state_machine_name(loaded, environment, name)
    clients = _clients(loaded, environment, use_local)
    arn = pipelines.start(
        clients.stepfunctions, pipelines.find_state_machine(clients.stepfunctions, machine_name), name
    )
    console.note(f"started {name} in {environment}: {arn}")
    if not wait:
        if as_json:
            console.print_json({"execution_arn": arn, "pipeline": name, "state_machine": machine_name})
        else:
            console.out.print(arn, markup=False)
        return
    with tracker() as steps, steps.step(f"{name}: RUNNING") as describe:

        def changed(execution: pipelines.Execution) -> None:
            describe(_summary(execution))
            console.note(_summary(execution))

        final = pipelines.follow(clients, arn, poll=1.0 if use_local else 5.0, on_change=changed)
    _print(final, as_json)
    if final.status != "SUCCEEDED":
        error = pipelines.failure(final)
        error.json_reported = as_json  # the execution's document, the failure in it, is on stdout already
        raise error


@pipelines_app.command("status", cls=Command)
def pipelines_status(
    execution: Annotated[
        str,
        typer.Argument(metavar="EXECUTION_ARN_OR_NAME", help="The execution `pipelines run` printed, or its name."),
    ],
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """An execution's status and each step's: its Batch job, timestamps, array children."""
    loaded = load(spec)
    environment = known_environment(loaded, env)
    clients = _clients(loaded, environment, use_local)
    prefix = pipelines.state_machine_prefix(loaded, environment)
    found = pipelines.describe(clients, pipelines.execution_arn(clients.stepfunctions, prefix, execution))
    _print(found, as_json)

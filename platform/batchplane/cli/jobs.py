"""``jobs new|submit|status|logs|why``: scaffold a job type, run it, follow it, find why it is stuck.

Parsing and printing only; the work is in :mod:`batchplane.scaffold` and
:mod:`batchplane.workflows.jobs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchplane import console, layout
from batchplane.cli.options import JsonOption, LocalOption, OneEnvOption, SpecOption, known_environment, load, spec_path
from batchplane.cli.plain import Command, Group
from batchplane.local.emulator import require_emulator
from batchplane.progress import tracker
from batchplane.spec import Spec
from batchplane.workflows import jobs

jobs_app = typer.Typer(cls=Group, help="Scaffold job types, submit them and follow them.", no_args_is_help=True)


@jobs_app.command("new", cls=Command)
def jobs_new(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The new job type, also its image folder (job_images/NAME) and package (NAME, _ for -).",
        ),
    ],
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            "-q",
            metavar="QUEUE",
            help="Its queue (default: `default` if it fits the other options, else the first that does).",
        ),
    ] = None,
    interruptible: Annotated[
        bool | None,
        typer.Option(
            "--interruptible/--no-interruptible",
            help="May run on Spot capacity (default: when the queue has Spot compute).",
        ),
    ] = None,
    fargate: Annotated[bool, typer.Option("--fargate", help="Put it on a Fargate queue.")] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scaffold job_images/NAME and a spec entry that passes every check, then render."""
    from batchplane.scaffold.new_job import new_job  # renders and gates: loaded only when used

    result = new_job(spec_path(spec), name, queue=queue, interruptible=interruptible, fargate=fargate)
    if as_json:
        console.print_json(result.as_dict())
        return
    job = result.job
    for path in result.image_files:
        console.out.print(f"+ {path}")
    kind = "Fargate" if job.fargate else "EC2"
    spot = "interruptible (may run on Spot)" if job.interruptible else "not interruptible"
    console.out.print(f"~ {result.spec_path.name}: jobs.{job.name} on queue {job.queue} ({kind}, {spot})")
    for line in result.render_changes.lines():
        console.out.print(line)
    console.note(
        f"next: edit {layout.IMAGES_DIR}/{job.name}/{job.package}/job.py, "
        f"grant what it calls under jobs.{job.name}.access, "
        f"then `batchplane up --env ENV --local` and `batchplane jobs submit {job.name} --env ENV --local --wait`"
    )


JobIdArgument = Annotated[str, typer.Argument(metavar="JOB_ID", help="The job id `jobs submit` printed.")]


def _job_clients(spec: Spec, environment: str, use_local: bool) -> jobs.Clients:
    """Batch and Logs clients of an environment: the local AWS's with --local, else AWS's."""
    return jobs.clients(spec, environment, require_emulator(spec.root) if use_local else None)


def _clients_of(spec: Path | None, env: str, use_local: bool) -> jobs.Clients:
    """The clients of ``--env`` in the spec of ``--spec``."""
    loaded = load(spec)
    return _job_clients(loaded, known_environment(loaded, env), use_local)


@jobs_app.command("submit", cls=Command)
def jobs_submit(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The job type (a key of `jobs` in the spec).")],
    env: OneEnvOption,
    use_local: LocalOption = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", metavar="NAME=VALUE", help="Override the job's parameter NAME; repeat for several."
        ),
    ] = None,
    array_size: Annotated[
        int | None, typer.Option("--array-size", metavar="N", help="Run as an array job of N children.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends; exit 5 when it FAILED.")] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a job type to its queue in an environment."""
    loaded = load(spec)
    environment = known_environment(loaded, env)
    wanted = jobs.submission(loaded, environment, name, jobs.parse_parameters(param or []), array_size)
    clients = _job_clients(loaded, environment, use_local)
    submitted = jobs.submit(clients.batch, wanted)
    console.note(f"submitted {submitted.job_name} to {submitted.queue}: {submitted.job_id}")
    if not wait:
        if as_json:
            console.print_json({"job_id": submitted.job_id, "job_name": submitted.job_name, "queue": submitted.queue})
        else:
            console.out.print(submitted.job_id)
        return
    with tracker() as steps, steps.step(f"{submitted.job_id}: SUBMITTED") as describe:

        def changed(state: jobs.JobStatus) -> None:
            line = f"{state.job_id}: {state.status}" + (f" ({state.reason})" if state.reason else "")
            describe(line)
            console.note(line)

        final = jobs.wait(clients.batch, submitted.job_id, poll=1.0 if use_local else 5.0, on_change=changed)
    if as_json:
        console.print_json(final.as_dict())
    else:
        console.out.print(f"{final.job_id} {final.status}")


@jobs_app.command("status", cls=Command)
def jobs_status(
    job_id: JobIdArgument,
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """A job's status, reason and exit code."""
    found = jobs.status(_clients_of(spec, env, use_local).batch, job_id)
    if as_json:
        console.print_json(found.as_dict())
        return
    extra = f" ({found.reason})" if found.reason else ""
    code = f", exit code {found.exit_code}" if found.exit_code is not None else ""
    console.out.print(f"{found.job_id} {found.name}: {found.status}{extra}{code}")


@jobs_app.command("logs", cls=Command)
def jobs_logs(
    job_id: JobIdArgument,
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """A job's log lines from CloudWatch Logs, oldest first."""
    clients = _clients_of(spec, env, use_local)
    lines = jobs.log_lines(clients.logs, jobs.status(clients.batch, job_id))
    if as_json:
        console.print_json({"job_id": job_id, "lines": list(lines)})
        return
    for line in lines:
        console.out.file.write(line + "\n")
    console.out.file.flush()


@jobs_app.command("why", cls=Command)
def jobs_why(
    job_id: JobIdArgument,
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why a job is stuck or failed: a verdict, then its queue, compute, fit, reasons and last log lines."""
    from batchplane.workflows.diagnose import diagnose, lines
    from batchplane.workflows.diagnose_read import gather

    clients = _clients_of(spec, env, use_local)
    found = diagnose(gather(clients.batch, clients.logs, job_id))
    if as_json:
        console.print_json(found.as_dict())
        return
    for line in lines(found):
        console.out.file.write(line + "\n")
    console.out.file.flush()

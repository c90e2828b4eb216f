"""``batchplane jobs new``: parsing and printing only, the work is :func:`batchplane.scaffold.new_job`.

Register with ``jobs_app.command("new")(jobs_new)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchplane import console
from batchplane.options import JsonOption, SpecOption, spec_path


def jobs_new(
    name: Annotated[
        str,
        typer.Argument(help="The new job type, also its image folder (job_images/NAME) and package (NAME, _ for -)."),
    ],
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            "-q",
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
    from batchplane.scaffold import new_job  # renders and gates: loaded only when used

    result = new_job(
        spec_path(spec),
        name,
        queue=queue,
        interruptible=interruptible,
        fargate=fargate,
    )
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
        f"next: edit job_images/{job.name}/{job.package}/job.py, grant what it calls under jobs.{job.name}.access, "
        f"then `batchplane up --env ENV --local` and `batchplane jobs submit {job.name} --env ENV --local --wait`"
    )

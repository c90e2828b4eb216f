"""Commands for what runs on the platform: ``images``, ``jobs`` and ``up``.

Registered on the main app by :mod:`batchplane.cli`; parsing and printing
only, the work is in :mod:`batchplane.images`, :mod:`batchplane.jobs` and
:mod:`batchplane.up`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchplane import console, images, jobs, local
from batchplane.options import ApproveOption, JsonOption, LocalOption, SpecOption, known_environment, load
from batchplane.spec import Spec

images_app = typer.Typer(help="Job images: build, push, pin by digest.", no_args_is_help=True)
jobs_app = typer.Typer(help="Submit job types and follow them.", no_args_is_help=True)

OneEnvOption = Annotated[str, typer.Option("--env", "-e", help="The environment.")]


@images_app.command("build")
def images_build(
    names: Annotated[list[str] | None, typer.Argument(help="Images to build (default: every job image).")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push, and pin the digests for --env in images.lock.json.")
    ] = False,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="The environment to pin the pushed digests for.")
    ] = None,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build job images with the Docker engine (in parallel); --push pushes and pins them."""
    loaded = load(spec)
    if push and env is None:
        raise typer.BadParameter("--push records digests for one environment: name it with --env", param_hint="--env")
    if env is not None:
        known_environment(loaded, env)
    registry = images.registry_for(loaded, local.registry_host(loaded.root) if use_local else None)
    results = images.build_images(
        loaded,
        names or None,
        push_to=registry if push else None,
        environment=env,
        report=None if as_json else console.note,
    )
    if as_json:
        console.print_json({"images": [r.as_dict() for r in results]})
        return
    for result in results:
        pinned = f" @ {result.digest}" if result.digest else ""
        console.out.print(f"{result.name}: {result.action} {result.repository}:{result.tag}{pinned}")


JobIdArgument = Annotated[str, typer.Argument(help="The job id `jobs submit` printed.")]


def _job_clients(spec: Spec, environment: str, use_local: bool) -> jobs.Clients:
    """Batch and Logs clients of an environment: the local AWS's with --local, else AWS's."""
    return jobs.clients(spec, environment, local.require_emulator(spec.root) if use_local else None)


@jobs_app.command("submit")
def jobs_submit(
    name: Annotated[str, typer.Argument(help="The job type (a key of `jobs` in the spec).")],
    env: OneEnvOption,
    use_local: LocalOption = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, overriding the job's parameter.")
    ] = None,
    array_size: Annotated[int | None, typer.Option("--array-size", help="Run as an array job of N children.")] = None,
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
    final = jobs.wait(
        clients.batch,
        submitted.job_id,
        poll=1.0 if use_local else 5.0,
        on_change=lambda s: console.note(f"{s.job_id}: {s.status}" + (f" ({s.reason})" if s.reason else "")),
    )
    if as_json:
        console.print_json(final.as_dict())
    else:
        console.out.print(f"{final.job_id} {final.status}")


@jobs_app.command("status")
def jobs_status(
    job_id: JobIdArgument,
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """A job's status, reason and exit code."""
    loaded = load(spec)
    found = jobs.status(_job_clients(loaded, known_environment(loaded, env), use_local).batch, job_id)
    if as_json:
        console.print_json(found.as_dict())
        return
    extra = f" ({found.reason})" if found.reason else ""
    code = f", exit code {found.exit_code}" if found.exit_code is not None else ""
    console.out.print(f"{found.job_id} {found.name}: {found.status}{extra}{code}")


@jobs_app.command("logs")
def jobs_logs(
    job_id: JobIdArgument,
    env: OneEnvOption,
    use_local: LocalOption = False,
    spec: SpecOption = None,
) -> None:
    """A job's log lines from CloudWatch Logs, oldest first."""
    loaded = load(spec)
    clients = _job_clients(loaded, known_environment(loaded, env), use_local)
    for line in jobs.log_lines(clients.logs, jobs.status(clients.batch, job_id)):
        console.out.file.write(line + "\n")
    console.out.file.flush()


def up(
    env: OneEnvOption,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render, check, apply shared while images build, push, pin, then plan, gate and apply ENV."""
    from batchplane.up import up as bring_up

    loaded = load(spec)
    environment = known_environment(loaded, env)
    emulator = local.require_emulator(loaded.root) if use_local else None
    registry = images.registry_for(loaded, local.registry_host(loaded.root) if use_local else None)
    result = bring_up(
        loaded.path, environment, emulator=emulator, registry=registry, approved=approve_production, say=console.note
    )
    if as_json:
        console.print_json(result.as_dict())
        return
    built = sum(1 for i in result.images if i["action"] == "pushed")
    console.out.print(
        f"{result.environment}{' (local)' if result.local else ''}: "
        + (f"applied {result.changes} change(s)" if result.applied else "no changes")
        + f"; images: {built} built and pushed, {len(result.images) - built} up to date"
        + f"; shared: {result.shared}; check: {result.check}; {result.seconds:.1f} s"
    )


def promote(
    source: Annotated[str, typer.Option("--from", help="The environment whose applied digests are promoted.")],
    target: Annotated[str, typer.Option("--to", help="The environment that receives them.")],
    image: Annotated[
        list[str] | None, typer.Option("--image", help="Promote only this image; repeat for several (default: all).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show what would change; write nothing.")
    ] = False,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy proven image digests from one environment to the next, re-render it, gate it. Never builds."""
    from batchplane.promote import promote as run_promotion

    loaded = load(spec)
    source = known_environment(loaded, source, "--from")
    target = known_environment(loaded, target, "--to")
    registry = images.registry_for(loaded, local.registry_host(loaded.root) if use_local else None)
    result = run_promotion(
        loaded,
        source,
        target,
        images=image or None,
        registry=registry,
        local=use_local,
        approved=approve_production,
        dry_run=dry_run,
    )
    if as_json:
        console.print_json(result.as_dict())
        return
    for move in result.moves:
        before = move.previous or "unpinned"
        state = "unchanged" if not move.changes else f"{before} → {move.digest}"
        console.out.print(f"{move.image}: {target} {state} ({move.tag})")
    for line in result.files:
        console.out.print(line)
    if result.written:
        console.note(
            f"promoted {source} → {target}: images.lock.json and environments/{target} updated; next: "
            f"`batchplane plan --env {target}` and `batchplane apply --env {target}`"
        )
    elif dry_run:
        console.note("dry run: nothing written")
    else:
        console.note(f"{target} already runs these digests")

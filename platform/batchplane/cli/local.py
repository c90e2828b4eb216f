"""``local start|stop|status|fire|clock``: the embedded local AWS, its image registry and its clock.

Parsing and printing only; the work is in :mod:`batchplane.local`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchplane import console
from batchplane.cli.options import JsonOption, OneEnvOption, SpecOption, known_environment, load
from batchplane.cli.plain import Command, Group
from batchplane.errors import ToolError
from batchplane.local import controls, emulator, registry
from batchplane.local.accounts import account_key, forget_accounts

local_app = typer.Typer(cls=Group, help="The embedded local AWS (moto server on 127.0.0.1).", no_args_is_help=True)


@local_app.command("start", cls=Command)
def local_start(
    port: Annotated[
        int | None, typer.Option("--port", metavar="N", help=f"Port on 127.0.0.1 (default {emulator.DEFAULT_PORT}).")
    ] = None,
    registry_port: Annotated[
        int | None,
        typer.Option(
            "--registry-port",
            metavar="N",
            help=f"Port of the image registry (default {registry.DEFAULT_REGISTRY_PORT}).",
        ),
    ] = None,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start the local AWS and the local image registry in the background (idempotent)."""
    loaded = load(spec)
    state, started = emulator.start(loaded.root, port)
    registry_state = None
    try:
        registry_state, registry_started = registry.start_registry(loaded.root, registry_port)
        console.note(
            f"local registry {'started' if registry_started else 'already running'} at {registry_state.host} "
            f"(pid {registry_state.pid})"
        )
    except ToolError as exc:
        # Terraform needs no registry: say what is missing and go on; `images build --local` will ask again.
        # (A file system that refuses the registry's files is no such case: that error stops here.)
        console.note(f"warning: no local image registry: {exc}")
    # Ready means ready: every account of the spec has what AWS would have (and moto's IAM is warm).
    accounts = {loaded.platform.registry_account_id, *(e.account_id for e in loaded.platform.environments.values())}
    for account in sorted(accounts):
        account_key(loaded.root, state, account, loaded.platform.region)
    if as_json:
        console.print_json(
            {
                "started": started,
                "endpoint": state.endpoint,
                "pid": state.pid,
                "registry": registry_state.host if registry_state else None,
            }
        )
        return
    console.out.print(f"local AWS {'started' if started else 'already running'} at {state.endpoint} (pid {state.pid})")


@local_app.command("stop", cls=Command)
def local_stop(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Stop the local AWS started for this repository (by its PID)."""
    loaded = load(spec)
    registry_state = registry.stop_registry(loaded.root)
    if registry_state is not None:
        console.note(f"local registry stopped (pid {registry_state.pid})")
    state = emulator.stop(loaded.root)
    forget_accounts(loaded.root)
    if as_json:
        console.print_json(
            {
                "stopped": state is not None,
                "pid": state.pid if state else None,
                "registry_stopped": registry_state is not None,
            }
        )
        return
    console.out.print("local AWS was not running" if state is None else f"local AWS stopped (pid {state.pid})")


@local_app.command("status", cls=Command)
def local_status(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Whether the local AWS runs, and where."""
    loaded = load(spec)
    state = emulator.running_emulator(loaded.root)
    registry_state = registry.running_registry(loaded.root)
    if as_json:
        console.print_json(
            {
                "running": state is not None,
                "endpoint": state.endpoint if state else None,
                "registry": registry_state.host if registry_state else None,
            }
        )
        return
    if state is None:
        console.out.print("local AWS is not running (start it with `batchplane local start`)")
    else:
        console.out.print(f"local AWS running at {state.endpoint} (pid {state.pid}, log {state.log})")
    if registry_state is None:
        console.out.print("local registry is not running")
    else:
        console.out.print(
            f"local registry running at {registry_state.host} (pid {registry_state.pid}, log {registry_state.log})"
        )


@local_app.command("fire", cls=Command)
def local_fire(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A job or pipeline with a schedule.")],
    env: OneEnvOption,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a job's or pipeline's schedule now on the local AWS, as if its time had come."""
    loaded = load(spec)
    environment = known_environment(loaded, env)
    schedule = controls.schedule_name(loaded, environment, name)
    state = emulator.require_emulator(loaded.root)
    account = loaded.platform.environments[environment].account_id
    fired = controls.fire_schedule(state.endpoint, schedule, region=loaded.platform.region, account=account)
    if as_json:
        console.print_json(fired)
        return
    console.out.print(f"fired {schedule}: started {fired.get('started')}")


@local_app.command("clock", cls=Command)
def local_clock(
    advance: Annotated[
        str | None, typer.Option("--advance", metavar="DURATION", help="Move the clock forward: 30m, 2h, 1d.")
    ] = None,
    scale: Annotated[
        float | None, typer.Option("--scale", metavar="N", help="Run the clock N times faster than real time.")
    ] = None,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show, accelerate or advance the local AWS's schedule clock (schedules and queue time limits follow it)."""
    loaded = load(spec)
    seconds = controls.duration_seconds(advance) if advance is not None else None
    if scale is not None and scale <= 0:
        raise controls.ScheduleUsageError(f"--scale must be positive, got {scale:g}")
    state = emulator.require_emulator(loaded.root)
    clock = controls.move_clock(state.endpoint, scale=scale, advance_seconds=seconds)
    if as_json:
        console.print_json(clock)
        return
    console.out.print(f"local clock: {clock.get('now')} (x{clock.get('scale')})")

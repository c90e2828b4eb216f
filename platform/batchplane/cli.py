"""The batchplane command line: parse arguments, call one core function, print.

Known failures (BatchplaneError) become a message on stderr and the exit code
of the README's table; anything else is a bug: exit 1, traceback only with
--debug.
"""

from __future__ import annotations

import json
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.core import Context as ClickContext  # the Context TyperGroup.invoke is typed with
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from batchplane import __version__, console, local
from batchplane.envdiff_cli import diff
from batchplane.errors import BatchplaneError, ChangesPendingError, SpecError
from batchplane.files import write_output
from batchplane.graph_cli import graph
from batchplane.lock import read_lock
from batchplane.options import ApproveOption, EnvOption, JsonOption, LocalOption, SpecOption, known_environments, load
from batchplane.policy.command import check
from batchplane.scaffold_cli import jobs_new
from batchplane.spec import Spec
from batchplane.spec.checks import did_you_mean
from batchplane.spec.schema import spec_json_schema
from batchplane.workload_cli import images_app, jobs_app, promote, up

if TYPE_CHECKING:
    from types import ModuleType

    from batchplane import lifecycle


def _lifecycle() -> ModuleType:
    """The lifecycle module, imported on first use: terraform, the renderer and the gate take
    a while to load, and `check --spec-only` (a pre-commit hook) needs none of them."""
    import batchplane.lifecycle

    return batchplane.lifecycle


@dataclass
class State:
    debug: bool = False
    spec: Path | None = None


class _Group(TyperGroup):
    """Maps errors to exit codes once, for every command (and, in JSON mode, to an error document)."""

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        # The raw command line, for JSON mode: read before the subcommand parses (and maybe refuses) it.
        ctx.meta["batchplane.json"] = console.json_requested(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        as_json = bool(ctx.meta.get("batchplane.json"))
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if as_json:  # Click still prints the usage text on stderr and exits 2
                console.print_json(console.error_document(exc, exc.exit_code))
            raise
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            # The reader went away (`batchplane ... | head`): not an error. Point stdout at
            # /dev/null so that Python's own flush at exit does not complain again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            raise typer.Exit(0) from None
        except BatchplaneError as exc:
            raise typer.Exit(console.explain(exc, as_json=as_json)) from None
        except Exception as exc:
            if _debug(ctx):
                traceback.print_exc()
            raise typer.Exit(console.unexpected(exc, as_json=as_json)) from None


def _debug(ctx: ClickContext) -> bool:
    state = ctx.obj
    return bool(os.environ.get("BATCHPLANE_DEBUG")) or (isinstance(state, State) and state.debug)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Declarative AWS Batch platforms: one spec, per-environment Terraform, policy gates.",
)


def _version(value: bool) -> None:
    if value:
        console.out.print(f"batchplane {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    ctx.obj = State(debug=debug)


@app.command()
def validate(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Check the spec: schema, references, AWS limits. Exit 3 with every problem when invalid."""
    try:
        loaded = load(spec)
    except SpecError as exc:
        if as_json:
            # validate's answer is itself the verdict (and its shape is documented): no second document.
            console.print_json({"valid": False, "problems": [asdict(p) for p in exc.problems]})
            exc.json_reported = True
        raise
    platform = loaded.platform
    counts = {
        "environments": len(platform.environments),
        "compute": len(platform.compute),
        "queues": len(platform.queues),
        "jobs": len(platform.jobs),
    }
    if as_json:
        console.print_json({"valid": True, "spec": str(loaded.path), **counts})
        return
    console.out.print(
        f"{loaded.path.name}: valid ({counts['environments']} environments, {counts['compute']} compute "
        f"environments, {counts['queues']} queues, {counts['jobs']} jobs)"
    )


@app.command(name="render")
def render_command(
    env: EnvOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 6 when environments/ differs from the spec."),
    ] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render environments/ (shared ECR root and one root per environment) from the spec."""
    from batchplane.render import compare, render, write

    loaded = load(spec)
    known_environments(loaded, env)
    rendered = render(loaded, read_lock(loaded.root), env)
    changes = compare(loaded.root, rendered)
    if not check:
        write(loaded.root, rendered, changes)
    if as_json:
        console.print_json(
            {
                "roots": list(rendered.roots),
                "added": changes.added,
                "changed": changes.changed,
                "removed": changes.removed,
                "written": not check and not changes.empty,
            }
        )
    else:
        for line in changes.lines():
            console.out.print(line)
    if check and not changes.empty:
        raise ChangesPendingError(
            f"{len(changes.lines())} generated file(s) differ from {loaded.path.name}: run `batchplane render`"
        )
    if not as_json:
        verb = "would change" if check else "changed"
        summary = "up to date" if changes.empty else f"{len(changes.lines())} file(s) {verb}"
        console.note(f"rendered {len(rendered.roots)} root(s): {summary}")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the spec's JSON Schema, for editor completion and validation."""
    text = json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        console.out.file.write(text)
    else:
        write_output(output, text)
        console.note(f"wrote {output}")


app.command()(check)
app.add_typer(images_app, name="images")
jobs_app.command("new")(jobs_new)
app.add_typer(jobs_app, name="jobs")
app.command()(up)
app.command()(promote)
app.command()(diff)
app.command()(graph)


# --- lifecycle ----------------------------------------------------------------

AllOption = Annotated[bool, typer.Option("--all", help="Every environment (and the shared root), in parallel.")]
local_app = typer.Typer(help="The embedded local AWS (moto server on 127.0.0.1).", no_args_is_help=True)
app.add_typer(local_app, name="local")


def _roots(spec: Spec, envs: list[str] | None, every: bool, *, default_all: bool) -> list[str]:
    known: list[str] = _lifecycle().roots_of(spec)
    if envs:
        unknown = sorted(set(envs) - set(known))
        if unknown:
            hints = "".join(did_you_mean(name, known) for name in unknown)
            raise typer.BadParameter(f"{', '.join(unknown)}{hints} (known: {', '.join(known)})", param_hint="--env")
        return list(dict.fromkeys(envs))
    if every or default_all:
        return known
    raise typer.BadParameter("name the environment with --env ENV (or --all)", param_hint="--env")


def _emulator(spec: Spec, use_local: bool) -> local.EmulatorState | None:
    return local.require_emulator(spec.root) if use_local else None


def _targets(
    spec: Spec, envs: list[str] | None, every: bool, use_local: bool, *, default_all: bool
) -> list[lifecycle.Target]:
    """The roots asked for, each prepared (a local working copy with --local)."""
    emulator = _emulator(spec, use_local)
    return [
        _lifecycle().target_for(spec, root, emulator) for root in _roots(spec, envs, every, default_all=default_all)
    ]


def _plan_all(
    targets: list[lifecycle.Target], sink: lifecycle.LineSink | None, *, purpose: str
) -> list[lifecycle.PlanResult]:
    """Init one by one (terraform's plugin cache is not safe for concurrent installs), then plan in parallel."""
    for target in targets:
        _lifecycle().init(target)
    progress = sink if len(targets) == 1 else None
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(targets)))) as pool:
        return list(pool.map(lambda t: _lifecycle().plan(t, progress, purpose=purpose), targets))


def _sink(as_json: bool) -> lifecycle.LineSink | None:
    if as_json:
        return None
    return console.progress_line


def _print_plan(result: lifecycle.PlanResult) -> None:
    console.out.print(console.plan_table(result.root, result.summary(), local=result.local))


@app.command()
def plan(
    env: EnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """terraform plan to a saved plan file, with a summary per resource type."""
    loaded = load(spec)
    targets = _targets(loaded, env, every, use_local, default_all=True)
    for target in targets:
        _lifecycle().refuse_unpinned(loaded, target.root)
    results = _lifecycle().plan_and_gate(loaded, targets, _sink(as_json))
    for result in results:
        if not as_json:
            _print_plan(result)
    if as_json:
        console.print_json({"plans": [r.as_dict() for r in results]})


@app.command()
def apply(
    env: EnvOption = None,
    use_local: LocalOption = False,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Plan and apply in one step when there is no saved plan.")
    ] = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the saved plan of an environment (from `batchplane plan`)."""
    results = []
    loaded = load(spec)
    for target in _targets(loaded, env, False, use_local, default_all=False):
        approved = approve_production or _confirm(target, "apply")
        _lifecycle().require_approval(target, approved, "apply")
        _lifecycle().refuse_unpinned(loaded, target.root)
        if auto_approve and not (target.plan_dir / _lifecycle().META_FILE).is_file():
            _lifecycle().plan_and_gate(loaded, [target], _sink(as_json))
        _lifecycle().apply(target, approved=approved, sink=_sink(as_json))
        if as_json:
            results.append({"environment": target.root, "local": target.local, "outputs": _lifecycle().outputs(target)})
        if not as_json:
            console.out.print(f"{target.label}: applied")
    if as_json:
        console.print_json({"applied": results})


def _confirm(target: lifecycle.Target, action: str) -> bool:
    if not target.needs_approval or not console.interactive():
        return False
    return typer.confirm(f"{target.root} needs approval. Really {action} it?", default=False)


@app.command()
def destroy(
    env: EnvOption = None,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
) -> None:
    """Destroy everything terraform manages in an environment."""
    for target in _targets(load(spec), env, False, use_local, default_all=False):
        approved = approve_production or _confirm(target, "destroy")
        _lifecycle().init(target)
        _lifecycle().destroy(target, approved=approved, sink=_sink(False))
        console.out.print(f"{target.label}: destroyed")


@app.command()
def drift(
    env: EnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare reality with the rendered roots; exit 6 and list addresses when they differ."""
    results = _plan_all(_targets(load(spec), env, every, use_local, default_all=True), None, purpose="drift")
    drifted = {r.root: [c.address for c in r.changes] for r in results}
    if as_json:
        console.print_json({"drift": drifted})
    else:
        for root, addresses in drifted.items():
            console.out.print(f"{root}: " + ("no drift" if not addresses else f"{len(addresses)} drifted"))
            for address in addresses:
                console.out.print(f"  ~ {address}")
    if any(drifted.values()):
        raise ChangesPendingError("reality differs from the rendered Terraform")


@app.command()
def output(
    env: EnvOption = None,
    use_local: LocalOption = False,
    spec: SpecOption = None,
) -> None:
    """Print an environment's Terraform outputs as JSON."""
    values = {}
    for target in _targets(load(spec), env, False, use_local, default_all=False):
        _lifecycle().init(target)
        values[target.root] = _lifecycle().outputs(target)
    console.print_json(values if len(values) > 1 else next(iter(values.values())))


@local_app.command("start")
def local_start(
    port: Annotated[
        int | None, typer.Option("--port", help=f"Port on 127.0.0.1 (default {local.DEFAULT_PORT}).")
    ] = None,
    registry_port: Annotated[
        int | None,
        typer.Option("--registry-port", help=f"Port of the image registry (default {local.DEFAULT_REGISTRY_PORT})."),
    ] = None,
    spec: SpecOption = None,
) -> None:
    """Start the local AWS and the local image registry in the background (idempotent)."""
    loaded = load(spec)
    state, started = local.start(loaded.root, port)
    try:
        registry, registry_started = local.start_registry(loaded.root, registry_port)
        console.note(
            f"local registry {'started' if registry_started else 'already running'} at {registry.host} "
            f"(pid {registry.pid})"
        )
    except BatchplaneError as exc:
        # Terraform needs no registry: say what is missing and go on; `images build --local` will ask again.
        console.note(f"warning: no local image registry: {exc}")
    # Ready means ready: every account of the spec has what AWS would have (and moto's IAM is warm).
    accounts = {loaded.platform.registry_account_id, *(e.account_id for e in loaded.platform.environments.values())}
    for account in sorted(accounts):
        local.account_key(loaded.root, state, account, loaded.platform.region)
    console.out.print(f"local AWS {'started' if started else 'already running'} at {state.endpoint} (pid {state.pid})")


@local_app.command("stop")
def local_stop(spec: SpecOption = None) -> None:
    """Stop the local AWS started for this repository (by its PID)."""
    loaded = load(spec)
    registry = local.stop_registry(loaded.root)
    if registry is not None:
        console.note(f"local registry stopped (pid {registry.pid})")
    state = local.stop(loaded.root)
    console.out.print("local AWS was not running" if state is None else f"local AWS stopped (pid {state.pid})")


@local_app.command("status")
def local_status(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Whether the local AWS runs, and where."""
    loaded = load(spec)
    state = local.running_emulator(loaded.root)
    registry = local.running_registry(loaded.root)
    if as_json:
        console.print_json(
            {
                "running": state is not None,
                "endpoint": state.endpoint if state else None,
                "registry": registry.host if registry else None,
            }
        )
        return
    if state is None:
        console.out.print("local AWS is not running (start it with `batchplane local start`)")
    else:
        console.out.print(f"local AWS running at {state.endpoint} (pid {state.pid}, log {state.log})")
    if registry is None:
        console.out.print("local registry is not running")
    else:
        console.out.print(f"local registry running at {registry.host} (pid {registry.pid}, log {registry.log})")


def main() -> None:
    """Console-script entry point."""
    app()

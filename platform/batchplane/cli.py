"""The batchplane command line: parse arguments, call one core function, print.

Known failures (BatchplaneError) become a message on stderr and the exit code
of the README's table; anything else is a bug: exit 1, traceback only with
--debug.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context as ClickContext  # the Context TyperGroup.invoke is typed with
from typer.core import TyperGroup

from batchplane import __version__, console
from batchplane.errors import BatchplaneError, ChangesPendingError, ExitCode, SpecError
from batchplane.lock import read_lock
from batchplane.render import compare, render, write
from batchplane.spec import Spec, find_spec, load_spec
from batchplane.spec.schema import spec_json_schema


@dataclass
class State:
    debug: bool = False
    spec: Path | None = None


class _Group(TyperGroup):
    """Maps errors to exit codes once, for every command."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except SpecError as exc:
            # Compiler style: one `file:line: path: message` per line, for editors and CI annotations.
            if len(exc.problems) == 1:
                console.error(str(exc.problems[0]))
            else:
                for problem in exc.problems:
                    console.note(str(problem))
                files = ", ".join(sorted({p.file for p in exc.problems}))
                console.error(f"{files} is invalid: {len(exc.problems)} problems")
            raise typer.Exit(int(exc.exit_code)) from None
        except BatchplaneError as exc:
            console.error(str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except Exception as exc:
            if _debug(ctx):
                traceback.print_exc()
            console.error(f"unexpected {type(exc).__name__}: {exc} (this is a bug; run with --debug for details)")
            raise typer.Exit(int(ExitCode.UNEXPECTED)) from None


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

SpecOption = Annotated[
    Path | None,
    typer.Option("--spec", help="The platform spec (default: platform.yaml here or in a parent directory)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", help="Environment to act on; repeat for several (default: all)."),
]


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


def _load(spec: Path | None) -> Spec:
    path = spec if spec is not None else find_spec(Path.cwd())
    return load_spec(path)


def _unknown_envs(spec: Spec, envs: list[str] | None) -> None:
    unknown = sorted(set(envs or []) - set(spec.environments))
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)} (the spec has: {', '.join(spec.environments)})",
            param_hint="--env",
        )


@app.command()
def validate(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Check the spec: schema, references, AWS limits. Exit 3 with every problem when invalid."""
    try:
        loaded = _load(spec)
    except SpecError as exc:
        if as_json:
            console.print_json({"valid": False, "problems": [asdict(p) for p in exc.problems]})
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
    loaded = _load(spec)
    _unknown_envs(loaded, env)
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
        output.write_text(text, encoding="utf-8")
        console.note(f"wrote {output}")


def main() -> None:
    """Console-script entry point."""
    app()

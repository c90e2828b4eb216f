"""The batchplane command line: parse arguments, call one core function, print.

Known failures (BatchplaneError) become a message on stderr and the exit code
of the README's table; anything else is a bug: exit 1, traceback only with
--debug.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import rich_utils
from typer._click.core import Context as ClickContext  # the Context TyperGroup.invoke is typed with
from typer._click.exceptions import UsageError

from batchplane import __version__, console
from batchplane.cli.check import check
from batchplane.cli.diff import diff
from batchplane.cli.graph import graph
from batchplane.cli.images import images_app
from batchplane.cli.init import init, upgrade
from batchplane.cli.jobs import jobs_app
from batchplane.cli.local import local_app
from batchplane.cli.pipelines import pipelines_app
from batchplane.cli.plain import Command, Group
from batchplane.cli.report import report_app
from batchplane.cli.spec import render_command, schema, validate
from batchplane.cli.terraform import apply, destroy, drift, output, plan
from batchplane.cli.workflows import promote, up
from batchplane.errors import BatchplaneError


@dataclass
class State:
    debug: bool = False
    spec: Path | None = None


if console.NO_COLOR:
    rich_utils.COLOR_SYSTEM = None  # Typer's help and usage errors: no bold or dim either


class _Group(Group):
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
        finally:
            console.configure(quiet=False, as_json=False)  # --quiet lasts one command line, not the process


def _debug(ctx: ClickContext) -> bool:
    state = ctx.obj
    return bool(os.environ.get("BATCHPLANE_DEBUG")) or (isinstance(state, State) and state.debug)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
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
    quiet: Annotated[bool, typer.Option("--quiet", help="No notes or progress on stderr (errors still are).")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    ctx.obj = State(debug=debug)
    console.configure(quiet=quiet, as_json=bool(ctx.meta.get("batchplane.json")))


app.command(cls=Command)(init)
app.command(cls=Command)(upgrade)
app.command(cls=Command)(validate)
app.command(name="render", cls=Command)(render_command)
app.command(cls=Command)(schema)
app.command(cls=Command)(check)
app.command(cls=Command)(plan)
app.command(cls=Command)(apply)
app.command(cls=Command)(destroy)
app.command(cls=Command)(drift)
app.command(cls=Command)(output)
app.add_typer(images_app, name="images")
app.add_typer(jobs_app, name="jobs")
app.add_typer(pipelines_app, name="pipelines")
app.command(cls=Command)(up)
app.command(cls=Command)(promote)
app.command(cls=Command)(diff)
app.command(cls=Command)(graph)
app.add_typer(local_app, name="local")
app.add_typer(report_app, name="report")


def main() -> None:
    """Console-script entry point."""
    app()

"""Every command of the CLI, walked from the Typer app, so that a new command is covered by itself."""

from __future__ import annotations

from collections.abc import Iterator

from typer._click.core import Command, Parameter
from typer.main import get_command

from batchplane.cli.app import app

ROOT = get_command(app)


def walk(command: Command = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    """``(path, command)`` for the app, each group and each command, parents first."""
    yield path, command
    children: dict[str, Command] = getattr(command, "commands", {})
    for name, child in sorted(children.items()):
        yield from walk(child, (*path, name))


def leaves() -> dict[tuple[str, ...], Command]:
    """The commands that do something (not groups), by path."""
    return {path: command for path, command in walk() if not getattr(command, "commands", None)}


def long_flags(params: list[Parameter]) -> set[str]:
    """The ``--long`` forms of the options (``--help`` aside)."""
    return {
        name
        for param in params
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("--") and name != "--help"
    }

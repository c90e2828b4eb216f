"""Every command's ``--help`` reads plainly: metavars like ENV, FILE, N, never Python types or ``{name}``."""

from __future__ import annotations

import re

import pytest
from typer._click.core import Command
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.policy.reports import FORMATS
from tests.unit.cli_tree import walk

runner = CliRunner()
COMMANDS = [pytest.param(path, command, id=" ".join(path) or "batchplane") for path, command in walk()]

PLAIN_METAVAR = re.compile(r"[A-Z][A-Z_]*(=[A-Z][A-Z_]*)?")
PYTHON_TYPES = re.compile(
    r"<\s*(bool|int|float|str|text|path|file|directory|choice|list|tuple|uuid|datetime)\b|list\[|str\]"
)
CHOICE_METAVAR = re.compile(r"[{<][\w|]+[}>]")


def _help(path: tuple[str, ...], columns: int) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}, prog_name="batchplane")
    assert result.exit_code == 0, result.output
    return result.output


def _value_params(command: Command) -> list[TyperOption | TyperArgument]:
    return [p for p in command.params if isinstance(p, TyperArgument) or (isinstance(p, TyperOption) and not p.is_flag)]


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in walk()}
    assert {"check", "jobs submit", "local status", "images build"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS)
@pytest.mark.parametrize("columns", [80, 60])
def test_help_shows_no_python_types_and_no_brace_metavars(
    path: tuple[str, ...], command: Command, columns: int
) -> None:
    text = _help(path, columns)
    assert not PYTHON_TYPES.search(text), text
    assert not CHOICE_METAVAR.search(text), text


@pytest.mark.parametrize(("path", "command"), COMMANDS)
def test_every_value_is_named_by_a_plain_metavar_shown_whole(path: tuple[str, ...], command: Command) -> None:
    """An explicit uppercase metavar per option and argument; a narrow terminal does not break it."""
    text = _help(path, 60)
    for param in _value_params(command):
        assert param.metavar is not None, f"{param.name} of {' '.join(path)}: set metavar="
        assert PLAIN_METAVAR.fullmatch(param.metavar), param.metavar
        assert re.search(rf"(?<![\w=]){re.escape(param.metavar)}(?![\w=])", text), (param.metavar, text)


@pytest.mark.parametrize("path", [("check",), ("graph",), ("jobs", "submit")])
def test_choices_are_listed_in_words(path: tuple[str, ...]) -> None:
    text = " ".join(_help(path, 200).split())
    expected = {
        ("check",): ", ".join(FORMATS),  # the policy's own vocabulary
        ("graph",): "mermaid, dot, svg, png, json",
        ("jobs", "submit"): "NAME=VALUE",
    }[path]
    assert expected in text


def test_usage_names_arguments_by_their_metavar() -> None:
    usage = _help(("jobs", "new"), 100)
    assert "jobs new [OPTIONS] NAME" in usage
    assert "images build [OPTIONS] [NAME]..." in _help(("images", "build"), 100)

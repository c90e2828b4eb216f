"""The README is the user's manual: it must keep up with the spec and the CLI."""

from __future__ import annotations

import re

from pydantic import BaseModel
from typer.main import get_command

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.spec import base, jobs, models
from tests.conftest import REPO
from tests.unit.cli_tree import ROOT, leaves, long_flags

README = (REPO / "README.md").read_text(encoding="utf-8")


# A field may be documented by itself or under its parent's name.
DOCUMENTED_FORMS = ("`{}`", "`s3.{}`", "`settings.{}`", "`waivers[].{}`", "`extra_files[].{}`", "`fair_share.{}`")


def _spec_models() -> list[type[BaseModel]]:
    found = {
        value
        for module in (models, jobs)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, base.Model) and value is not base.Model
    }
    return sorted(found, key=lambda model: model.__name__)


def test_every_spec_field_is_documented() -> None:
    missing = [
        f"{model.__name__}.{field}"
        for model in _spec_models()
        for field in model.model_fields
        if not any(form.format(field) in README for form in DOCUMENTED_FORMS)
    ]
    assert missing == []


def test_every_command_has_a_section() -> None:
    command = get_command(app)
    names = sorted(command.commands)  # type: ignore[attr-defined]
    assert names
    for name in names:
        assert f"### `batchplane {name}" in README, name


HEADING = re.compile(r"^### `batchplane ([^`]*)`", re.MULTILINE)
FLAG = re.compile(r"--[a-z][a-z-]*")


def reference(readme: str) -> list[tuple[list[tuple[str, ...]], set[str]]]:
    """The command reference's headings: the command paths each names, with the flags it lists.

    ``### `batchplane local start|stop|status [--port N]``` names three commands that share
    one flag list; ``--interruptible/--no-interruptible`` is two flags.
    """
    found = []
    for heading in HEADING.findall(readme):
        words = heading.split()
        paths: list[tuple[str, ...]] = [()]
        while words and re.fullmatch(r"[a-z][a-z|-]*", words[0]):
            paths = [(*path, name) for path in paths for name in words.pop(0).split("|")]
        found.append((paths, set(FLAG.findall(" ".join(words)))))
    return found


def _command_section(readme: str) -> str:
    start = readme.index("## Commands")
    return readme[start : readme.index("\n### ", start)]


def test_the_reference_lists_exactly_the_commands_and_flags_of_help() -> None:
    """Each heading lists every flag of ``--help`` (one list for the commands it names together) and no other."""
    documented = reference(README)
    commands = leaves()
    assert sorted(path for paths, _ in documented for path in paths) == sorted(commands)
    differences = {}
    for paths, flags in documented:
        shown = set().union(*(long_flags(commands[path].params) for path in paths))
        if shown != flags:
            differences["|".join(" ".join(p) for p in paths)] = {
                "missing": sorted(shown - flags),
                "unknown": sorted(flags - shown),
            }
    assert differences == {}


def test_the_global_options_are_documented_before_the_commands() -> None:
    section = _command_section(README)
    missing = [flag for flag in sorted(long_flags(ROOT.params)) if not re.search(rf"`(batchplane )?{flag}\b", section)]
    assert missing == []


def test_the_reference_parser_reads_shared_headings() -> None:
    text = "### `batchplane local start|stop [--port N]`\n### `batchplane jobs new NAME [--a/--no-a]`\n"
    assert reference(text) == [
        ([("local", "start"), ("local", "stop")], {"--port"}),
        ([("jobs", "new")], {"--a", "--no-a"}),
    ]


def test_every_exit_code_is_in_the_table() -> None:
    for code in ExitCode:
        assert f"\n| {int(code)} |" in README, code


def test_the_two_commands_come_first() -> None:
    assert README.index("make demo") < README.index("## Commands")
    assert README.index("make test") < README.index("## Commands")

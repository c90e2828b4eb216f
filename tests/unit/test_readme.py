"""The README is the user's manual: it must keep up with the spec and the CLI."""

from __future__ import annotations

from pydantic import BaseModel
from typer.main import get_command

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.spec import base, jobs, models
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


# A field may be documented by itself or under its parent's name.
DOCUMENTED_FORMS = ("`{}`", "`s3.{}`", "`settings.{}`", "`waivers[].{}`", "`extra_files[].{}`")


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


def test_every_exit_code_is_in_the_table() -> None:
    for code in ExitCode:
        assert f"\n| {int(code)} |" in README, code


def test_the_two_commands_come_first() -> None:
    assert README.index("make demo") < README.index("## Commands")
    assert README.index("make test") < README.index("## Commands")

"""Help that reads plainly: ``NAME`` and ``[NAME]...`` instead of Typer's ``{name}`` and ``<str>``.

Every command is registered with :class:`Command` and every group with :class:`Group`:
a flag shows no type (the help and completion options neither), an argument
shows its metavar only, in the usage line too. Options that take a value name
it with an explicit ``metavar=`` (``ENV``, ``FILE``, ``N``, ...);
tests/unit/test_cli_help.py checks every command's help.
"""

from __future__ import annotations

from typer._click.core import Context as ClickContext
from typer._click.core import Parameter
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    """An argument named by its metavar alone (Typer would add ``<str>``)."""

    def display_type_rich(self, ctx: ClickContext) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        shown = name if self.required else f"[{name}]"
        return shown + ("..." if self.nargs != 1 else "")


def _plain(params: list[Parameter]) -> list[Parameter]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument  # Typer builds the argument; only its display changes
    return params


class Command(TyperCommand):
    """A command whose help shows no Python types."""

    def get_params(self, ctx: ClickContext) -> list[Parameter]:
        return _plain(super().get_params(ctx))


class Group(TyperGroup):
    """A command group whose help shows no Python types."""

    def get_params(self, ctx: ClickContext) -> list[Parameter]:
        return _plain(super().get_params(ctx))

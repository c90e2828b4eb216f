"""The command line: one module per command group, parsing and printing only.

:mod:`batchplane.cli.app` is the Typer app and registers every command;
:mod:`batchplane.cli.entry` is the executable, with the pre-commit fast path that must
not import Typer or Rich, which is why this package imports nothing itself.
"""

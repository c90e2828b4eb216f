"""Where output goes: results on stdout, progress and diagnostics on stderr.

``NO_COLOR`` (set and not empty) means no escape sequences at all, bold and
italic included, as does a stream that is not a terminal. ``--quiet`` silences
notes and progress on stderr; errors are always printed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from batchplane.errors import (
    BatchplaneError,
    ExitCode,
    FileSystemError,
    RegistryError,
    SpecError,
    StateFileError,
)

NO_COLOR = os.environ.get("NO_COLOR", "") != ""
"""Whether the user asked for no colour: then no styles either (Rich alone would still print bold)."""

_COLORS: Literal["auto"] | None = None if NO_COLOR else "auto"
out = Console(highlight=False, soft_wrap=True, color_system=_COLORS)
err = Console(stderr=True, highlight=False, soft_wrap=True, color_system=_COLORS)


@dataclass
class Settings:
    """What the global options asked of stderr."""

    quiet: bool = False
    """``--quiet``: no notes, no progress, no terraform progress lines."""
    progress: bool = True
    """Progress displays (also off with ``--json``: a machine reads the run)."""


settings = Settings()


def configure(*, quiet: bool, as_json: bool) -> None:
    """Apply the global options of this command line."""
    settings.quiet = quiet
    settings.progress = not quiet and not as_json


def json_text(value: Any) -> str:
    """A machine-readable result as every command writes it."""
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def print_json(value: Any) -> None:
    """Machine-readable result on stdout (never coloured, never wrapped)."""
    out.file.write(json_text(value))
    out.file.flush()


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


def note(message: str) -> None:
    """A diagnostic or a hint on stderr (not with ``--quiet``)."""
    if not settings.quiet:
        err.print(message, markup=False)


def json_requested(argv: Sequence[str]) -> bool:
    """Whether a command line asks for JSON on stdout (``--json``, ``--format json``, ``-f json``).

    Read from the raw arguments so that a failure before or during option
    parsing (a usage error) is still answered in JSON.
    """
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json" or arg in ("--format=json", "-fjson"):
            return True
        if arg in ("--format", "-f") and next(args, None) == "json":
            return True
    return False


def error_document(exc: BaseException, code: int) -> dict[str, Any]:
    """``{"error": {...}}``: what JSON consumers get on stdout instead of a result."""
    kind = ExitCode(code).name.lower() if code in ExitCode._value2member_map_ else "error"
    body: dict[str, Any] = {"code": code, "kind": kind, "type": type(exc).__name__}
    if isinstance(exc, SpecError):
        body["message"] = str(exc)
        body["problems"] = [asdict(p) for p in exc.problems]
        files = sorted({p.file for p in exc.problems})
        if len(files) == 1:
            body["file"] = files[0]
    elif isinstance(exc, StateFileError):
        body.update(message=str(exc), file=exc.file, line=exc.line, expected=exc.expected)
    elif isinstance(exc, FileSystemError):
        body.update(message=str(exc), path=exc.path, operation=exc.operation)
    elif isinstance(exc, RegistryError):
        body.update(message=str(exc), endpoint=exc.endpoint)
    else:
        format_message = getattr(exc, "format_message", None)  # Click's usage errors
        body["message"] = str(format_message() if callable(format_message) else exc)
    return {"error": body}


def explain(exc: BatchplaneError, *, as_json: bool = False) -> int:
    """Print a known failure the one way every command does; return its exit code.

    A spec error is compiler style, one ``file:line: path: message`` per line, for
    editors and CI annotations. With ``as_json`` the error document also goes to
    stdout (unless the command already put one there), the message still to stderr.
    """
    if as_json and not exc.json_reported:
        print_json(error_document(exc, int(exc.exit_code)))
    if isinstance(exc, SpecError):
        if len(exc.problems) == 1:
            error(str(exc.problems[0]))
        else:
            for problem in exc.problems:
                note(str(problem))
            files = ", ".join(sorted({p.file for p in exc.problems}))
            error(f"{files} is invalid: {len(exc.problems)} problems")
    else:
        error(str(exc))
    return int(exc.exit_code)


def unexpected(exc: Exception, *, as_json: bool = False) -> int:
    """Print an error batchplane did not foresee (a bug) and return exit 1."""
    if as_json:
        print_json(error_document(exc, int(ExitCode.UNEXPECTED)))
    error(f"unexpected {type(exc).__name__}: {exc} (this is a bug; run with --debug for details)")
    return int(ExitCode.UNEXPECTED)


def interactive() -> bool:
    """True when a person is at the terminal (prompts are allowed)."""
    return sys.stdin.isatty() and err.is_terminal


_PROGRESS = re.compile(
    r"^(?:\S+\.)+\S+: (?:Creating|Creation complete|Modifying|Modifications complete|Destroying|"
    r"Destruction complete|Still \w+|Refreshing state|Reading|Read complete)"
    r"|^(?:Apply complete|Destroy complete|Plan:|No changes)"
)


def progress_line(line: str) -> None:
    """terraform's progress on stderr: resource lines and the final tally, not the diff."""
    text = line.strip()
    if not settings.quiet and _PROGRESS.match(text):
        err.print(f"  {text}", markup=False, highlight=False)


def plan_table(root: str, summary: dict[str, dict[str, int]], *, local: bool) -> Table | str:
    """Adds / changes / destroys per resource type, or a one-line 'no changes'."""
    label = f"{root} (local)" if local else root
    if not summary:
        return f"{label}: no changes"
    table = Table(title=f"{label}: planned changes", title_justify="left")
    table.add_column("resource type")
    for column in ("add", "change", "destroy"):
        table.add_column(column, justify="right")
    totals = {"add": 0, "change": 0, "destroy": 0}
    for kind, counts in summary.items():
        table.add_row(kind, *(str(counts[c]) for c in totals))
        for column in totals:
            totals[column] += counts[column]
    table.add_section()
    table.add_row("total", *(str(v) for v in totals.values()))
    return table

"""Where output goes: results on stdout, progress and diagnostics on stderr."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from batchplane.errors import BatchplaneError, ExitCode, SpecError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Machine-readable result on stdout (never coloured, never wrapped)."""
    out.file.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    out.file.flush()


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


def note(message: str) -> None:
    err.print(message, markup=False)


def explain(exc: BatchplaneError) -> int:
    """Print a known failure the one way every command does; return its exit code.

    A spec error is compiler style, one ``file:line: path: message`` per line, for
    editors and CI annotations.
    """
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


def unexpected(exc: Exception) -> int:
    """Print an error batchplane did not foresee (a bug) and return exit 1."""
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
    if _PROGRESS.match(text):
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

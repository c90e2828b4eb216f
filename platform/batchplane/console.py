"""Where output goes: results on stdout, progress and diagnostics on stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

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

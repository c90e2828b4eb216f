"""Command-line options shared by every command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SpecOption = Annotated[
    Path | None,
    typer.Option("--spec", help="The platform spec (default: platform.yaml here or in a parent directory)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", help="Environment to act on; repeat for several (default: all)."),
]
LocalOption = Annotated[bool, typer.Option("--local", help="Act on the embedded local AWS (see `local start`).")]

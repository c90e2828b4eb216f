"""``batchplane graph``: a picture of one environment for reviews.

Register with ``app.command(cls=Command)(graph)``; parsing and printing only, the work is
in :mod:`batchplane.views.graph`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from batchplane import console
from batchplane.cli.options import OutputOption, SpecOption, known_environment, load
from batchplane.files import write_output
from batchplane.views.graph import FORMAT_SUFFIXES, GraphFormat, build_graph, render_graph

GraphEnvOption = Annotated[str, typer.Option("--env", "-e", metavar="ENV", help="The environment to draw.")]
GraphFormatOption = Annotated[
    GraphFormat | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help=f"{', '.join(GraphFormat)}; default: from the --output suffix, mermaid on stdout without one.",
    ),
]
AwsNamesOption = Annotated[
    bool, typer.Option("--aws-names", help="Also show each resource's AWS name (PLATFORM-ENV-NAME).")
]


def _format(fmt: GraphFormat | None, output: Path | None) -> GraphFormat:
    if fmt is not None:
        return fmt
    if output is None:
        return GraphFormat.mermaid
    found = FORMAT_SUFFIXES.get(output.suffix.lower())
    if found is None:
        known = ", ".join(FORMAT_SUFFIXES)
        raise typer.BadParameter(
            f"cannot tell the format from {output.name!r} (known suffixes: {known}): add --format",
            param_hint="--output",
        )
    return found


def graph(
    env: GraphEnvOption,
    fmt: GraphFormatOption = None,
    output: OutputOption = None,
    aws_names: AwsNamesOption = False,
    spec: SpecOption = None,
) -> None:
    """Draw an environment: schedules and triggers -> jobs -> queues -> compute environments."""
    chosen = _format(fmt, output)
    if output is None and chosen is GraphFormat.png and sys.stdout.isatty():
        raise typer.BadParameter("PNG is binary: write it to a file with --output FILE.png", param_hint="--format")
    loaded = load(spec)
    known_environment(loaded, env)
    data = render_graph(build_graph(loaded.env(env), env), chosen, aws_names=aws_names)
    if output is None:
        # Bytes, not text: PNG is binary, and text formats must reach a pipe byte for byte.
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    elif output.is_file() and output.read_bytes() == data:
        console.note(f"{output}: up to date")
    else:
        write_output(output, data)
        console.note(f"wrote {output} ({chosen.value}, {len(data)} bytes)")

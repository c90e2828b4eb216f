"""``batchplane diff``: how two environments differ.

Registered on the main app by :mod:`batchplane.cli` (``app.command(cls=Command)(diff)``);
parsing and printing only, the work is in :mod:`batchplane.views.envdiff`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from batchplane import console
from batchplane.cli.options import JsonOption, OutputOption, SpecOption, known_environment, load
from batchplane.files import write_output
from batchplane.images.lock import read_lock

if TYPE_CHECKING:
    from batchplane.views.envdiff import LineKind

STYLES: dict[LineKind, str] = {
    "title": "bold",
    "heading": "bold",
    "value": "",
    "removed": "red",
    "added": "green",
    "hunk": "cyan",
    "context": "dim",
}


def diff(
    from_env: Annotated[
        str, typer.Option("--from", metavar="ENV", help="The environment to compare from (e.g. test).")
    ],
    to_env: Annotated[str, typer.Option("--to", metavar="ENV", help="The environment to compare to (e.g. prod).")],
    output: OutputOption = None,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show how two environments differ: resolved spec values, image digests, rendered Terraform. Always exit 0."""
    from batchplane.views.envdiff import environment_diff, report_lines  # renders: loaded only when used

    loaded = load(spec)
    source, target = known_environment(loaded, from_env, "--from"), known_environment(loaded, to_env, "--to")
    result = environment_diff(loaded, read_lock(loaded.root), source, target)
    if output is not None:
        lines = report_lines(result)
        write_output(output, console.json_text(result.as_dict()) if as_json else "".join(f"{t}\n" for t, _ in lines))
        console.note(f"wrote {output}")
    elif as_json:
        console.print_json(result.as_dict())
    else:
        for line, kind in report_lines(result):
            console.out.print(Text(line, style=STYLES[kind]))
    if not as_json and not result.empty:
        console.note(
            f"{result.value_count} spec value(s), {len(result.images)} image digest(s) differ "
            "(Terraform diffs without account ids, environment names and networks)"
        )

"""``report pr``: the saved plans of a change, and the policy result, as one pull-request comment.

Parsing and printing only; the work is in :mod:`batchplane.views.pr_comment`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from batchplane import console, layout
from batchplane.cli.options import JsonOption, LocalOption, SpecOption, load
from batchplane.cli.plain import Command, Group
from batchplane.errors import ChangesPendingError, StateFileError
from batchplane.files import write_output
from batchplane.spec.names import did_you_mean
from batchplane.state import read_text

report_app = typer.Typer(
    cls=Group, help="Reports for reviews: saved plans and checks as one comment.", no_args_is_help=True
)

RootsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        "-e",
        metavar="ENV",
        help="A root whose saved plan must be in the comment; repeat (default: every saved plan).",
    ),
]


def _check_report(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    text = read_text(path)
    if text is None:
        raise StateFileError(path, None, "expected the JSON report of `batchplane check --format json`; no such file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(path, exc.lineno, f"expected JSON: {exc.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("summary"), dict):
        raise StateFileError(path, 1, "expected the JSON report of `batchplane check --format json`")
    return document


@report_app.command("pr", cls=Command)
def report_pr(
    env: RootsOption = None,
    use_local: LocalOption = False,
    check: Annotated[
        Path | None,
        typer.Option("--check", metavar="FILE", help="The JSON report of `batchplane check` to include."),
    ] = None,
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="Words after the heading.")] = "",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the comment to FILE instead of stdout.")
    ] = None,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """The saved plans (from `batchplane plan`) as one Markdown pull-request comment."""
    from batchplane.terraform.summary import read_summary
    from batchplane.terraform.targets import roots_of
    from batchplane.views.pr_comment import comment

    loaded = load(spec)
    roots = roots_of(loaded)  # the one owner of which roots exist (shared only with an ECR registry)
    unknown = sorted(set(env or []) - set(roots))
    if unknown:
        hints = "".join(did_you_mean(name, roots) for name in unknown)
        raise typer.BadParameter(f"{', '.join(unknown)}{hints} (roots: {', '.join(roots)})", param_hint="--env")
    wanted = [r for r in roots if r in set(env or roots)]
    summaries = {r: read_summary(layout.plan_dir(loaded.root, r, local=use_local)) for r in wanted}
    missing = [r for r in (env or []) if summaries[r] is None]
    if missing:
        raise ChangesPendingError(
            f"no saved plan for {', '.join(missing)}: run `batchplane plan --env {missing[0]}` first"
        )
    found = [s for s in summaries.values() if s is not None]
    text = comment(found, _check_report(check), title=title)
    if as_json:
        console.print_json({"roots": [s.root for s in found], "markdown": text})
    elif output is not None:
        write_output(output, text)
        console.note(f"wrote {output} ({len(found)} saved plan(s))")
    else:
        console.out.file.write(text)
        console.out.file.flush()

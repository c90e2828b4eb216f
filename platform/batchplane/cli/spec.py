"""``validate``, ``render`` and ``schema``: the spec and what is rendered from it.

Parsing and printing only; the work is in :mod:`batchplane.spec` and :mod:`batchplane.render`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from batchplane import __version__, console
from batchplane.cli.options import JsonOption, OutputOption, SpecOption, known_environments, load
from batchplane.errors import ChangesPendingError, SpecError
from batchplane.files import write_output
from batchplane.images.lock import read_lock
from batchplane.spec.schema import spec_json_schema


def validate(spec: SpecOption = None, as_json: JsonOption = False) -> None:
    """Check the spec: schema, references, AWS limits. Exit 3 with every problem when invalid."""
    try:
        loaded = load(spec)
    except SpecError as exc:
        if as_json:
            # validate's answer is itself the verdict (and its shape is documented): no second document.
            console.print_json({"valid": False, "problems": [asdict(p) for p in exc.problems]})
            exc.json_reported = True
        raise
    platform = loaded.platform
    counts = {
        "environments": len(platform.environments),
        "compute": len(platform.compute),
        "queues": len(platform.queues),
        "jobs": len(platform.jobs),
    }
    if as_json:
        console.print_json({"valid": True, "spec": str(loaded.path), **counts})
        return
    console.out.print(
        f"{loaded.path.name}: valid ({counts['environments']} environments, {counts['compute']} compute "
        f"environments, {counts['queues']} queues, {counts['jobs']} jobs)"
    )


RenderEnvOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env", "-e", metavar="ENV", help="An environment to render; repeat for several (default: all, and shared)."
    ),
]


def render_command(
    env: RenderEnvOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 6 when environments/ differs from the spec."),
    ] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render environments/ (shared ECR root and one root per environment) from the spec."""
    from batchplane.platform_repo.vendor import differences
    from batchplane.render import compare, render, write

    loaded = load(spec)
    known_environments(loaded, env)
    rendered = render(loaded, read_lock(loaded.root), env)
    changes = compare(loaded.root, rendered)
    if not check:
        write(loaded.root, rendered, changes)
    vendored = differences(loaded.root) if check else []
    if as_json:
        console.print_json(
            {
                "roots": list(rendered.roots),
                "added": changes.added,
                "changed": changes.changed,
                "removed": changes.removed,
                "written": not check and not changes.empty,
                "vendored": [{"path": f.address, "state": f.state} for f in vendored],
            }
        )
    else:
        for line in changes.lines():
            console.out.print(line)
        for f in vendored:
            console.out.print(
                f"! {f.address}: {'edited here' if f.state == 'edited' else 'as vendored'}, "
                f"differs from batchplane {__version__}"
            )
    if check and not changes.empty:
        raise ChangesPendingError(
            f"{len(changes.lines())} generated file(s) differ from {loaded.path.name}: run `batchplane render`"
        )
    if vendored:
        edited = sum(1 for f in vendored if f.state == "edited")
        raise ChangesPendingError(
            f"{len(vendored)} vendored file(s) differ from batchplane {__version__} ({edited} edited here): "
            "run `batchplane upgrade`" + (" (`--force` replaces the edited ones)" if edited else "")
        )
    if not as_json:
        verb = "would change" if check else "changed"
        summary = "up to date" if changes.empty else f"{len(changes.lines())} file(s) {verb}"
        console.note(f"rendered {len(rendered.roots)} root(s): {summary}")


def schema(output: OutputOption = None) -> None:
    """Print the spec's JSON Schema, for editor completion and validation."""
    text = json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        console.out.file.write(text)
    else:
        write_output(output, text)
        console.note(f"wrote {output}")

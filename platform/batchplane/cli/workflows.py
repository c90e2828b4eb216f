"""``up`` and ``promote``: the workflows that span render, gate, images and Terraform.

Parsing and printing only; the work is in :mod:`batchplane.workflows`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchplane import console
from batchplane.cli.options import (
    ApproveOption,
    JsonOption,
    LocalOption,
    OneEnvOption,
    SpecOption,
    known_environment,
    load,
)


def up(
    env: OneEnvOption,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render, check, apply shared while images build, push, pin, then plan, gate and apply ENV."""
    from batchplane.workflows.up import up as bring_up
    from batchplane.workspace import open_workspace

    loaded = load(spec)
    environment = known_environment(loaded, env)
    workspace = open_workspace(loaded, use_local=use_local, runs_terraform=True)
    result = bring_up(workspace, environment, approved=approve_production, say=console.note)
    if as_json:
        console.print_json(result.as_dict())
        return
    built = sum(1 for i in result.images if i["action"] == "pushed")
    console.out.print(
        f"{result.environment}{' (local)' if result.local else ''}: "
        + (f"applied {result.changes} change(s)" if result.applied else "no changes")
        + f"; images: {built} built and pushed, {len(result.images) - built} up to date"
        + f"; shared: {result.shared}; check: {result.check}; {result.seconds:.1f} s"
    )


def promote(
    source: Annotated[
        str, typer.Option("--from", metavar="ENV", help="The environment whose applied digests are promoted.")
    ],
    target: Annotated[str, typer.Option("--to", metavar="ENV", help="The environment that receives them.")],
    image: Annotated[
        list[str] | None,
        typer.Option("--image", metavar="NAME", help="Promote only this image; repeat for several (default: all)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show what would change; write nothing.")
    ] = False,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy proven image digests from one environment to the next, re-render it, gate it. Never builds."""
    from batchplane.workflows.promote import promote as run_promotion
    from batchplane.workspace import open_workspace

    loaded = load(spec)
    source = known_environment(loaded, source, "--from")
    target = known_environment(loaded, target, "--to")
    workspace = open_workspace(loaded, use_local=use_local, runs_terraform=False)
    result = run_promotion(
        workspace, source, target, images=image or None, approved=approve_production, dry_run=dry_run
    )
    if as_json:
        console.print_json(result.as_dict())
        return
    for move in result.moves:
        before = move.previous or "unpinned"
        state = "unchanged" if not move.changes else f"{before} → {move.digest}"
        console.out.print(f"{move.image}: {target} {state} ({move.tag})")
    for line in result.files:
        console.out.print(line)
    if result.written:
        console.note(
            f"promoted {source} → {target}: images.lock.json and environments/{target} updated; next: "
            f"`batchplane plan --env {target}` and `batchplane apply --env {target}`"
        )
    elif dry_run:
        console.note("dry run: nothing written")
    else:
        console.note(f"{target} already runs these digests")

"""``images build``: job images built with the Docker engine, pushed and pinned.

Parsing and printing only; the work is in :mod:`batchplane.images.pipeline`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchplane import console
from batchplane.cli.options import JsonOption, LocalOption, SpecOption, known_environment, load
from batchplane.cli.plain import Command, Group
from batchplane.progress import tracker

images_app = typer.Typer(cls=Group, help="Job images: build, push, pin by digest.", no_args_is_help=True)


@images_app.command("build", cls=Command)
def images_build(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="NAME", help="Images to build (default: every job image).")
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push, and pin the digests for --env in images.lock.json.")
    ] = False,
    env: Annotated[
        str | None, typer.Option("--env", "-e", metavar="ENV", help="The environment to pin the pushed digests for.")
    ] = None,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build job images with the Docker engine (in parallel); --push pushes and pins them."""
    loaded = load(spec)
    if push and env is None:
        raise typer.BadParameter("--push records digests for one environment: name it with --env", param_hint="--env")
    if env is not None:
        known_environment(loaded, env)
    from batchplane.images.pipeline import build_images
    from batchplane.workspace import open_workspace

    workspace = open_workspace(loaded, use_local=use_local, runs_terraform=False)
    with tracker() as steps, steps.step("build" + (" and push" if push else "")) as describe:

        def report(message: str) -> None:
            describe(message)
            if not as_json:
                console.note(message)

        results = build_images(
            loaded, names or None, push_to=workspace.registry if push else None, environment=env, report=report
        )
    if as_json:
        console.print_json({"images": [r.as_dict() for r in results]})
        return
    for result in results:
        pinned = f" @ {result.digest}" if result.digest else ""
        console.out.print(f"{result.name}: {result.action} {result.repository}:{result.tag}{pinned}")

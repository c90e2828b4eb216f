"""``init`` and ``upgrade``: a platform repository of your own, and keeping its vendored files current.

Parsing and printing only; the work is in :mod:`batchplane.platform_repo`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchplane import __version__, console
from batchplane.cli.options import JsonOption, SpecOption, spec_path


def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The new repository's folder: absent or empty.")],
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="The platform's name (default: the folder's name).")
    ] = None,
    region: Annotated[str, typer.Option("--region", metavar="REGION", help="The AWS region.")] = "eu-west-1",
    accounts: Annotated[
        str | None,
        typer.Option(
            "--accounts", metavar="ENV=ID", help="Account ids: dev=111111111111,prod=222222222222 (the default)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a platform repository: spec, vendored modules and checks, job `hello`, workflows."""
    from batchplane.platform_repo.starter import init_repository, parse_accounts

    result = init_repository(directory, name=name, region=region, accounts=parse_accounts(accounts))
    if as_json:
        console.print_json({"root": str(result.root), "files": list(result.files), "batchplane": __version__})
        return
    for path in result.files:
        console.out.print(f"+ {path}")
    console.note(
        f"created {result.root} ({len(result.files)} files, batchplane {__version__}); next: "
        f"cd {directory} && git init && batchplane check && batchplane local start && "
        "batchplane up --env dev --local && batchplane jobs submit hello --env dev --local --wait"
    )


def upgrade(
    force: Annotated[
        bool, typer.Option("--force", help="Also overwrite vendored files that were edited in this repository.")
    ] = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-vendor modules/ and policies/checks/ from the installed batchplane, showing the diff."""
    from batchplane.platform_repo.vendor import differences, revendor

    repo = spec_path(spec).parent
    found = differences(repo)
    if not as_json:
        for file in found:
            console.out.print(file.diff(), end="", markup=False, highlight=False)
    trees = revendor(repo, found, force=force)
    if as_json:
        console.print_json(
            {
                "batchplane": __version__,
                "files": [{"path": f.address, "state": f.state, "change": f.change()} for f in found],
                "trees": trees,
            }
        )
        return
    for file in found:
        console.out.print(f"{_SIGNS[file.change()]} {file.address} ({file.state})")
    if trees:
        console.note(f"re-vendored {', '.join(trees)} from batchplane {__version__}: review the diff and commit it")
    else:
        console.note(f"vendored files match batchplane {__version__}: nothing to upgrade")


_SIGNS = {"add": "+", "update": "~", "remove": "-"}

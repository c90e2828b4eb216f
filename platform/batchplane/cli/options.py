"""Command-line options shared by several commands, declared once, each saying what it does there."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from batchplane.spec import Spec

SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec", metavar="FILE", help="The platform spec (default: platform.yaml here or in a parent directory)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable result on stdout.")]
OneEnvOption = Annotated[str, typer.Option("--env", "-e", metavar="ENV", help="The environment.")]
LocalOption = Annotated[bool, typer.Option("--local", help="Act on the embedded local AWS (see `local start`).")]
ApproveOption = Annotated[
    bool, typer.Option("--approve-production", help="Approve a change to an environment that needs approval.")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to this file instead of stdout.")
]


def spec_path(spec: Path | None) -> Path:
    """The spec a command acts on: --spec, else platform.yaml here or in a parent directory."""
    from batchplane.spec import find_spec

    return spec if spec is not None else find_spec(Path.cwd())


def load(spec: Path | None) -> Spec:
    """The spec of --spec (see :func:`spec_path`), loaded and validated."""
    from batchplane.spec import load_spec

    return load_spec(spec_path(spec))


def known_environments(spec: Spec, envs: list[str] | None, option: str = "--env") -> list[str]:
    """``envs`` unchanged when the spec has every one of them; else a usage error (exit 2) naming the rest."""
    from batchplane.spec.names import did_you_mean

    unknown = sorted(set(envs or []) - set(spec.environments))
    if unknown:
        hints = "".join(did_you_mean(name, spec.environments) for name in unknown)
        raise typer.BadParameter(
            f"{', '.join(unknown)}{hints} (the spec has: {', '.join(spec.environments)})", param_hint=option
        )
    return list(envs or [])


def known_environment(spec: Spec, env: str, option: str = "--env") -> str:
    return known_environments(spec, [env], option)[0]

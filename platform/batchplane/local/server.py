"""The local AWS's entry point: moto's server, with batchplane's fidelity extensions installed first.

``python -m batchplane.local.server -H 127.0.0.1 -p PORT`` takes moto's own
arguments. Each module named in :data:`EXTENSIONS` has an ``install()`` that
extends moto through its supported mechanisms (its configuration switches,
state manager and backends) so that what the platform defines really happens
locally; the README lists what still differs from AWS.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

EXTENSIONS: tuple[str, ...] = (
    "batchplane.local.batch_fidelity",
    "batchplane.local.queue_fidelity",
    "batchplane.local.compute_fidelity",
    "batchplane.local.events_fidelity",
    "batchplane.local.scheduler_fidelity",
    "batchplane.local.stepfunctions",
    "batchplane.local.sfn_validation",
)
"""Modules (``batchplane.local.<name>``) whose ``install()`` runs before the server starts."""


def install_extensions(names: Sequence[str] = EXTENSIONS) -> None:
    """Run every extension's ``install()`` in this process, in order."""
    for name in names:
        importlib.import_module(name).install()


def main(argv: Sequence[str] | None = None) -> None:
    """Install the extensions, then run moto's server with ``argv`` (default: this process's)."""
    install_extensions()
    from moto.server import main as moto_main

    moto_main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()

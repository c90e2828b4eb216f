"""The workspace a command acts on: built once per command from its options, then passed down.

It holds the loaded spec (no core function loads it again), whether the
command acts on the local AWS, the running emulator when it runs terraform
there, and the registry images are pushed to and looked up in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from batchplane.images.registry import Registry, registry_for
from batchplane.local.emulator import EmulatorState, require_emulator
from batchplane.local.registry import registry_host
from batchplane.spec.loader import Spec


@dataclass(frozen=True)
class Workspace:
    """One command's spec, AWS (real or local) and registry."""

    spec: Spec
    registry: Registry
    local: bool
    emulator: EmulatorState | None
    """The local AWS terraform acts on; None on real AWS, or when the command runs no terraform."""

    @property
    def root(self) -> Path:
        """The platform repository."""
        return self.spec.root


def open_workspace(spec: Spec, *, use_local: bool, runs_terraform: bool) -> Workspace:
    """The workspace of ``spec``: with ``use_local``, the local registry, and the emulator when terraform runs.

    Fails (exit 5) when ``--local`` names a local AWS or registry that is not running.
    """
    emulator = require_emulator(spec.root) if use_local and runs_terraform else None
    registry = registry_for(spec, registry_host(spec.root) if use_local else None)
    return Workspace(spec, registry, use_local, emulator)

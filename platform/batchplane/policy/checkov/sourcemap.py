"""Where a finding on generated Terraform is shown in the spec a human edits.

Render writes each root's ``.batchplane/sourcemap.json`` (Terraform address ->
spec path and line); an address it does not name is shown at its root's own
place in the spec. Plain Python: the Checkov scan, root integrity and the plan
gate all read it without importing Checkov.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from batchplane.layout import SHARED_ROOT, SOURCEMAP
from batchplane.spec.loader import Spec

Location = tuple[str, int | None]
"""A spec path and its line in platform.yaml (None when the spec does not write it)."""

_INDEX = re.compile(r"\[[^\]]*\]")


def unindexed(address: str) -> str:
    """A Terraform address without its instance keys: ``module.job["a"].x[0]`` -> ``module.job.x``."""
    return _INDEX.sub("", address)


def root_location(spec: Spec, root: str) -> Location:
    """Where a root as a whole is written in the spec: ``registry`` for the shared root, else its environment."""
    loc: tuple[str, ...] = ("registry",) if root == SHARED_ROOT else ("environments", root)
    return ".".join(loc), spec.locations.line(loc)


@dataclass(frozen=True)
class SourceMap:
    """Terraform address -> (spec path, line), from a root's .batchplane/sourcemap.json."""

    fallback: Location
    addresses: dict[str, Location]

    @classmethod
    def read(cls, root: Path, fallback: Location) -> SourceMap:
        path = root / SOURCEMAP
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"addresses": {}}
        entries = {k: (v["spec_path"], v.get("line")) for k, v in data.get("addresses", {}).items()}
        return cls(fallback, entries)

    def locate(self, address: str) -> Location:
        """The entry of the longest address prefix; indices are ignored when nothing matches exactly."""
        for normalize in (lambda a: a, unindexed):
            target = normalize(address)
            best = None
            for key, entry in self.addresses.items():
                prefix = normalize(key)
                if (target == prefix or target.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), entry)
            if best is not None:
                return best[1]
        return self.fallback

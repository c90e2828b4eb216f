"""``images.lock.json``: the image digest each environment runs.

batchplane writes it (atomically) and commits it; the renderer reads it to pin
every job definition to ``repository@digest``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from batchplane import layout
from batchplane.errors import FileSystemError
from batchplane.files import atomic_write
from batchplane.state import read_json

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class LockEntry(BaseModel):
    """What one environment runs of one image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    digest: Digest
    tag: str
    source_hash: str


class ImageLock(BaseModel):
    """The whole lock file: image -> environment -> entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1, le=1)
    images: dict[str, dict[str, LockEntry]] = Field(default_factory=dict)

    def entry(self, image: str, environment: str) -> LockEntry | None:
        return self.images.get(image, {}).get(environment)


def with_entries(lock: ImageLock, environment: str, entries: Mapping[str, LockEntry]) -> ImageLock:
    """``lock`` with ``entries`` (image -> entry) recorded for ``environment``; every other entry kept.

    The one place a lock entry changes: ``images build --push`` and ``up`` pin
    pushed digests with it, ``promote`` copies proven ones with it.
    """
    images = {name: dict(by_environment) for name, by_environment in lock.images.items()}
    for image, entry in entries.items():
        images.setdefault(image, {})[environment] = entry
    return ImageLock(version=lock.version, images=images)


def read_lock(root: Path) -> ImageLock:
    """The lock of a platform repository (empty when there is none yet).

    A corrupt lock is exit 3 at its line; an unreadable one exit 5 (see :mod:`batchplane.state`).
    """
    lock = read_json(layout.lock_path(root), ImageLock)
    return ImageLock() if lock is None else lock


def write_lock(root: Path, lock: ImageLock) -> None:
    """Replace the lock file atomically and durably: a failure never leaves half a file."""
    text = json.dumps(lock.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"
    path = layout.lock_path(root)
    try:
        atomic_write(path, text.encode("utf-8"), durable=True)
    except OSError as exc:  # a read-only file system, no permission, a full disk
        raise FileSystemError(path, "write", exc) from None

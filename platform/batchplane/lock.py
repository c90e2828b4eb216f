"""``images.lock.json``: the image digest each environment runs.

batchplane writes it (atomically) and commits it; the renderer reads it to pin
every job definition to ``repository@digest``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from batchplane.errors import SpecError, SpecProblem
from batchplane.files import atomic_write

LOCK_FILENAME = "images.lock.json"

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


def read_lock(root: Path) -> ImageLock:
    """The lock of a platform repository (empty when there is none yet)."""
    path = root / LOCK_FILENAME
    if not path.exists():
        return ImageLock()
    try:
        return ImageLock.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        problems = [
            SpecProblem(LOCK_FILENAME, None, ".".join(map(str, e["loc"])), e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise SpecError(problems) from None


def write_lock(root: Path, lock: ImageLock) -> None:
    """Replace the lock file atomically and durably: a failure never leaves half a file."""
    text = json.dumps(lock.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"
    atomic_write(root / LOCK_FILENAME, text.encode("utf-8"), durable=True)

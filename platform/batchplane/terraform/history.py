"""What was applied where, and what was promoted: the evidence `promote` relies on.

One JSON object per line, appended, never rewritten (merge-friendly):

* ``{"event": "applied", "environment": ..., "images": {image: digest}, "at": ..., "by": ...}``
  after every successful apply of an environment;
* ``{"event": "promoted", "from": ..., "to": ..., "image": ..., "digest": ..., "tag": ..., "at": ..., "by": ...}``
  for every image `promote` moves.

The history of real AWS is ``history.jsonl`` beside the spec, committed like
``images.lock.json``; the local AWS keeps its own in
``.batchplane/local/history.jsonl`` (a local apply proves nothing about AWS).
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from batchplane import layout
from batchplane.errors import FileSystemError
from batchplane.state import read_jsonl

HISTORY_FILE = layout.HISTORY_FILE
LOCAL_HISTORY = layout.LOCAL_HISTORY


class _Record(BaseModel):
    # Extra keys are kept, not refused: a newer batchplane may record more, and the history is append-only.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    at: str
    by: str


class Applied(_Record):
    event: Literal["applied"]
    environment: str
    images: dict[str, str]


class Promoted(_Record):
    event: Literal["promoted"]
    source: str = Field(alias="from")
    to: str
    image: str
    digest: str
    tag: str


Record = Annotated[Applied | Promoted, Field(discriminator="event")]
_RECORD: TypeAdapter[Applied | Promoted] = TypeAdapter(Record)


def history_path(repo: Path, *, local: bool) -> Path:
    return repo / (LOCAL_HISTORY if local else HISTORY_FILE)


def who(repo: Path) -> str:
    """The person or pipeline acting: CI's actor, else git's user.email, else the login name."""
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        done = subprocess.run(
            ["git", "config", "user.email"], cwd=repo, capture_output=True, text=True, timeout=10, check=False
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def append(repo: Path, records: list[dict[str, Any]], *, local: bool) -> None:
    """Append records (one line each, flushed and synced: a crash loses at most a partial last line)."""
    path = history_path(repo, local=local)
    stamp, actor = _now(), who(repo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab+") as handle:
            lines = [json.dumps({**record, "at": stamp, "by": actor}, sort_keys=True) + "\n" for record in records]
            if handle.seek(0, os.SEEK_END) > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a torn last line from a crash: ours starts on a line of its own
                    lines.insert(0, "\n")
            handle.write("".join(lines).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # read-only file system, no permission, a folder named history.jsonl
        raise FileSystemError(path, "append to", exc) from None


def records(repo: Path, *, local: bool) -> Iterator[Applied | Promoted]:
    """Every record, oldest first; a torn last line is skipped, any other bad line is exit 3 at its line."""
    yield from read_jsonl(history_path(repo, local=local), _RECORD, "history record (applied or promoted)")


def record_applied(repo: Path, environment: str, images: Mapping[str, str], *, local: bool) -> None:
    append(
        repo, [{"event": "applied", "environment": environment, "images": dict(sorted(images.items()))}], local=local
    )


def applied_digests(repo: Path, environment: str, *, local: bool) -> dict[str, set[str]]:
    """Per image, every digest a successful apply of ``environment`` has run."""
    seen: dict[str, set[str]] = {}
    for record in records(repo, local=local):
        if isinstance(record, Applied) and record.environment == environment:
            for image, digest in record.images.items():
                seen.setdefault(image, set()).add(digest)
    return seen

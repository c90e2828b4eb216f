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
from typing import Any

HISTORY_FILE = "history.jsonl"
LOCAL_HISTORY = ".batchplane/local/history.jsonl"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp, actor = _now(), who(repo)
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({**record, "at": stamp, "by": actor}, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def records(repo: Path, *, local: bool) -> Iterator[dict[str, Any]]:
    """Every readable record, oldest first (a torn last line is skipped)."""
    path = history_path(repo, local=local)
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def record_applied(repo: Path, environment: str, images: Mapping[str, str], *, local: bool) -> None:
    append(
        repo, [{"event": "applied", "environment": environment, "images": dict(sorted(images.items()))}], local=local
    )


def applied_digests(repo: Path, environment: str, *, local: bool) -> dict[str, set[str]]:
    """Per image, every digest a successful apply of ``environment`` has run."""
    seen: dict[str, set[str]] = {}
    for record in records(repo, local=local):
        if record.get("event") == "applied" and record.get("environment") == environment:
            for image, digest in (record.get("images") or {}).items():
                seen.setdefault(str(image), set()).add(str(digest))
    return seen

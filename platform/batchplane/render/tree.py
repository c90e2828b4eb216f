"""Rendered roots as bytes in memory, compared with disk before anything is written.

A root's ``.batchplane/manifest.json`` lists the files batchplane owns there;
only those are ever rewritten or removed. Everything else in a root (the
committed ``.terraform.lock.hcl``, a user's own ``*.tf``) is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from batchplane.errors import BatchplaneError
from batchplane.files import atomic_write
from batchplane.lock import ImageLock
from batchplane.render.roots import (
    GENERATED_HEADER,
    MANIFEST,
    SHARED_ROOT,
    has_shared_root,
    render_env_root,
    render_shared_root,
    with_manifest,
)
from batchplane.spec.loader import Spec

ENVIRONMENTS_DIR = "environments"

Tree = dict[str, bytes]


class OwnershipError(BatchplaneError):
    """A file batchplane would write exists and was not written by batchplane."""

    def __init__(self, paths: Sequence[str]) -> None:
        listed = "\n  ".join(paths)
        super().__init__(
            f"refusing to overwrite files batchplane did not write:\n  {listed}\n"
            "move them out of the way (or delete them) and render again"
        )


@dataclass(frozen=True)
class Rendered:
    """The rendered tree and the roots it covers (relative to the repository)."""

    tree: Tree
    roots: tuple[str, ...]
    complete: bool
    """True when every root of the spec was rendered: other generated roots are stale."""


@dataclass(frozen=True)
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return sorted(
            [f"+ {p}" for p in self.added] + [f"~ {p}" for p in self.changed] + [f"- {p}" for p in self.removed],
            key=lambda line: line[2:],
        )


def render(spec: Spec, lock: ImageLock, environments: Sequence[str] | None = None) -> Rendered:
    """Every root of the spec (or of the given environments), as bytes."""
    selected = list(spec.environments) if not environments else list(environments)
    roots: dict[str, dict[str, str]] = {}
    if has_shared_root(spec.platform) and not environments:
        roots[SHARED_ROOT] = render_shared_root(spec)
    for env in selected:
        roots[env] = render_env_root(spec, lock, env)
    tree: Tree = {}
    for root, files in roots.items():
        for name, text in with_manifest(files).items():
            tree[f"{ENVIRONMENTS_DIR}/{root}/{name}"] = text.encode("utf-8")
    return Rendered(
        tree=dict(sorted(tree.items())),
        roots=tuple(f"{ENVIRONMENTS_DIR}/{r}" for r in roots),
        complete=not environments,
    )


def _owned(repo: Path, root: str) -> set[str]:
    manifest = repo / root / MANIFEST
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["generated"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {f"{root}/{name}" for name in listed if isinstance(name, str) and ".." not in name} | {f"{root}/{MANIFEST}"}


def _stale_roots(repo: Path, rendered: Rendered) -> list[str]:
    if not rendered.complete:
        return []
    base = repo / ENVIRONMENTS_DIR
    found = sorted(p.parent.parent for p in base.glob(f"*/{MANIFEST}")) if base.is_dir() else []
    current = set(rendered.roots)
    return [path.relative_to(repo).as_posix() for path in found if path.relative_to(repo).as_posix() not in current]


def compare(repo: Path, rendered: Rendered) -> Changes:
    """What writing ``rendered`` would change on disk; refuses to touch foreign files."""
    changes = Changes()
    foreign = []
    owned: set[str] = set()
    for root in rendered.roots:
        owned |= _owned(repo, root)
    for path, data in rendered.tree.items():
        target = repo / path
        if not target.exists():
            changes.added.append(path)
            continue
        current = target.read_bytes()
        if current == data:
            continue
        if path not in owned and "/.batchplane/" not in path and not current.startswith(GENERATED_HEADER.encode()):
            foreign.append(path)
        changes.changed.append(path)
    if foreign:
        raise OwnershipError(foreign)
    stale = owned - set(rendered.tree)
    for root in _stale_roots(repo, rendered):
        stale |= _owned(repo, root)
    changes.removed.extend(sorted(p for p in stale if (repo / p).is_file()))
    return changes


def write(repo: Path, rendered: Rendered, changes: Changes) -> None:
    """Apply ``changes``: atomic writes first, then removal of stale files."""
    for path in [*changes.added, *changes.changed]:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, rendered.tree[path])
    for path in changes.removed:
        target = repo / path
        target.unlink(missing_ok=True)
        _prune_empty(target.parent, stop=repo / ENVIRONMENTS_DIR)


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent

"""Rendered roots as bytes in memory, compared with disk before anything is written.

A root's ``.batchplane/manifest.json`` lists the files batchplane owns there;
only those are ever rewritten or removed. Everything else in a root (the
committed ``.terraform.lock.hcl``, a user's own ``*.tf``) is left alone.

Two promises on top of that:

- Nothing outside the repository is touched. Every path render would read,
  write or delete is checked component by component with ``lstat``, from
  ``environments/`` down: a symlink (or a FIFO, a device, a folder where a file
  belongs) anywhere on it refuses the whole render before anything is written,
  and a manifest entry that leaves its root is never acted on.
- A render killed at any point leaves a tree the next render repairs and
  ``render --check`` reports. A root's manifest always lists every owned file
  that may exist on disk: before files are added or removed it is widened to
  the old and new lists together, and narrowed (or, for a removed root,
  deleted) only after the last removal. Temporary files a killed write left
  behind are found and removed.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode, FileSystemError
from batchplane.files import UnsafeFileError, atomic_write, temporary_of
from batchplane.images.lock import ImageLock
from batchplane.render.roots import (
    GENERATED_HEADER,
    MANIFEST,
    SHARED_ROOT,
    has_shared_root,
    render_env_root,
    render_shared_root,
    to_json,
    with_manifest,
)
from batchplane.spec.loader import Spec

ENVIRONMENTS_DIR = layout.ENVIRONMENTS_DIR

Tree = dict[str, bytes]


class OwnershipError(BatchplaneError):
    """A file batchplane would write exists and was not written by batchplane."""

    def __init__(self, paths: Sequence[str]) -> None:
        listed = "\n  ".join(paths)
        super().__init__(
            f"refusing to overwrite files batchplane did not write:\n  {listed}\n"
            "move them out of the way (or delete them) and render again"
        )


class UnsafeTreeError(UnsafeFileError):
    """A path render would read, write or delete is a symlink or not what it should be (exit 5)."""

    def __init__(self, problems: Sequence[str]) -> None:
        listed = "\n  ".join(problems)
        super().__init__(f"render refused, nothing written or deleted:\n  {listed}")


class ManifestError(BatchplaneError):
    """A root's manifest is not what batchplane writes: corrupt, or naming files outside its root."""

    exit_code = ExitCode.SPEC_INVALID

    def __init__(self, problems: Sequence[str]) -> None:
        listed = "\n  ".join(problems)
        super().__init__(f"render refused, nothing written or deleted:\n  {listed}")


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


_EXPECTED_MANIFEST = 'expected {"generated": ["file", ...]} with paths inside the root'


class _Survey:
    """What is on disk under environments/, gathered without following a symlink or changing anything."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.unsafe: list[str] = []
        self.corrupt: list[str] = []

    def _refuse(self, rel: str, what: str) -> None:
        message = f"{rel} {what}: remove it and run render again"
        if message not in self.unsafe:
            self.unsafe.append(message)

    def inspect(self, rel: str, *, folder: bool = False) -> os.stat_result | None:
        """The ``lstat`` of ``rel`` when it is a real file (or folder); None when it is absent or unsafe.

        Unsafe shapes are recorded: a symlink anywhere from ``environments/``
        down, a file where a folder belongs, anything but a regular file (or a
        folder, with ``folder``) at the end.
        """
        parts = PurePosixPath(rel).parts
        current = self.repo
        info: os.stat_result | None = None
        for depth, part in enumerate(parts, start=1):
            current = current / part
            shown = "/".join(parts[:depth])
            try:
                info = current.lstat()
            except FileNotFoundError:
                return None
            except OSError as exc:
                self._refuse(shown, f"cannot be examined ({exc.strerror or exc})")
                return None
            if stat.S_ISLNK(info.st_mode):
                self._refuse(shown, "is a symlink (batchplane never writes or deletes through one)")
                return None
            last = depth == len(parts)
            if (not last or folder) and not stat.S_ISDIR(info.st_mode):
                self._refuse(shown, "is not a folder")
                return None
            if last and not folder and not stat.S_ISREG(info.st_mode):
                kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
                self._refuse(shown, f"is {kind} where batchplane writes a file")
                return None
        return info

    def safe(self, rel: str, *, folder: bool = False) -> bool:
        """True when ``rel`` is absent or real: nothing unsafe was found on its way."""
        before = len(self.unsafe)
        self.inspect(rel, folder=folder)
        return len(self.unsafe) == before

    def manifest(self, root: str) -> set[str]:
        """The files the manifest of ``root`` lists, relative to ``root``; every entry validated."""
        rel = f"{root}/{MANIFEST}"
        if self.inspect(rel) is None:
            return set()
        try:
            data = json.loads((self.repo / rel).read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            self.corrupt.append(f"{rel}: not UTF-8 text; {_EXPECTED_MANIFEST} (delete it and run render again)")
            return set()
        except json.JSONDecodeError as exc:
            self.corrupt.append(
                f"{rel}:{exc.lineno}: not valid JSON ({exc.msg}); {_EXPECTED_MANIFEST} (delete it and run render again)"
            )
            return set()
        except OSError as exc:
            self._refuse(rel, f"cannot be read ({exc.strerror or exc})")
            return set()
        listed = data.get("generated") if isinstance(data, dict) else None
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            self.corrupt.append(f"{rel}: {_EXPECTED_MANIFEST} (delete it and run render again)")
            return set()
        names: set[str] = set()
        for name in listed:
            if _inside(name):
                names.add(name)
            else:
                self.corrupt.append(
                    f"{rel}: entry {name!r} is not a file inside {root} ({_EXPECTED_MANIFEST}); "
                    "batchplane never acts on it: fix or delete the manifest and run render again"
                )
        return names

    def stale_roots(self, rendered: Rendered) -> list[str]:
        """Roots under environments/ that carry a manifest but are no longer rendered."""
        base = self.repo / ENVIRONMENTS_DIR
        if not rendered.complete or self.inspect(ENVIRONMENTS_DIR, folder=True) is None:
            return []
        current = set(rendered.roots)
        stale = []
        with os.scandir(base) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{ENVIRONMENTS_DIR}/{entry.name}"
                if rel in current:
                    continue
                if entry.is_symlink():
                    # Only a symlink that looks like a root is refused: render would act on its target.
                    if (base / entry.name / MANIFEST).exists():
                        self._refuse(rel, "is a symlink to a rendered root (batchplane never deletes through one)")
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    continue
                manifest = f"{rel}/{MANIFEST}"
                before = len(self.unsafe)
                if self.inspect(manifest) is not None or len(self.unsafe) > before:
                    stale.append(rel)
        return stale

    def leftovers(self, folders: Iterable[str], names: set[str]) -> list[str]:
        """Temporary files a killed write left next to the files render owns."""
        found = []
        for folder in sorted(set(folders)):
            if self.inspect(folder, folder=True) is None:
                continue
            with os.scandir(self.repo / folder) as entries:
                for entry in entries:
                    target = temporary_of(entry.name)
                    rel = f"{folder}/{entry.name}"
                    if target is not None and f"{folder}/{target}" in names and entry.is_file(follow_symlinks=False):
                        found.append(rel)
        return found

    def raise_problems(self) -> None:
        if self.unsafe:
            raise UnsafeTreeError([*self.unsafe, *self.corrupt])
        if self.corrupt:
            raise ManifestError(self.corrupt)


def _inside(name: str) -> bool:
    """A manifest entry naming a file inside its root: relative, normalised, no ``..``."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    path = PurePosixPath(name)
    return path.as_posix() == name and all(part not in ("", ".", "..") for part in path.parts)


@dataclass(frozen=True)
class _Plan:
    changes: Changes
    owned: dict[str, set[str]]
    """Root -> the files its manifest on disk lists (relative to the root)."""
    stale_roots: list[str]


def _plan(repo: Path, rendered: Rendered) -> _Plan:
    survey = _Survey(repo)
    survey.safe(ENVIRONMENTS_DIR, folder=True)
    stale_roots = survey.stale_roots(rendered)
    owned = {root: survey.manifest(root) for root in [*rendered.roots, *stale_roots]}
    owned_paths = {f"{root}/{name}" for root, names in owned.items() for name in names}
    owned_paths |= {f"{root}/{MANIFEST}" for root in owned}
    changes = Changes()
    foreign = []
    for path, data in rendered.tree.items():
        before = len(survey.unsafe)
        info = survey.inspect(path)
        if len(survey.unsafe) > before:
            continue
        if info is None:
            changes.added.append(path)
            continue
        current = (repo / path).read_bytes()
        if current == data:
            continue
        if (
            path not in owned_paths
            and "/.batchplane/" not in path
            and not current.startswith(GENERATED_HEADER.encode())
        ):
            foreign.append(path)
        changes.changed.append(path)
    stale = sorted(owned_paths - set(rendered.tree))
    changes.removed.extend(path for path in stale if survey.inspect(path) is not None)
    known = owned_paths | set(rendered.tree)
    changes.removed.extend(survey.leftovers((str(PurePosixPath(p).parent) for p in known), known))
    changes.removed.sort()
    survey.raise_problems()
    if foreign:
        raise OwnershipError(foreign)
    return _Plan(changes=changes, owned=owned, stale_roots=stale_roots)


def compare(repo: Path, rendered: Rendered) -> Changes:
    """What writing ``rendered`` would change on disk.

    Refuses (nothing read through a symlink, nothing changed) when a path is
    unsafe (:class:`UnsafeTreeError`, exit 5), a manifest is corrupt or names a
    file outside its root (:class:`ManifestError`, exit 3), or a file to write
    was not written by batchplane (:class:`OwnershipError`).
    """
    return _plan(repo, rendered).changes


def write(repo: Path, rendered: Rendered, changes: Changes) -> None:
    """Apply ``changes`` in an order a kill at any point leaves repairable.

    1. each changing manifest is widened to list its old and new files together;
    2. new and changed files are written (each atomically);
    3. stale files and leftover temporary files are removed, manifests of removed roots last;
    4. each manifest is narrowed to its final list.
    """
    plan = _plan(repo, rendered)  # the checks again, right before acting: refuses with nothing written
    writes = [*changes.added, *changes.changed]
    final: dict[str, bytes] = {}
    for root in rendered.roots:
        manifest = f"{root}/{MANIFEST}"
        if manifest not in writes:
            continue
        prefix = f"{root}/"
        new = {path.removeprefix(prefix) for path in rendered.tree if path.startswith(prefix) and path != manifest}
        widened = to_json({"generated": sorted(plan.owned.get(root, set()) | new)}).encode("utf-8")
        _write_file(repo, manifest, widened)
        if widened != rendered.tree[manifest]:
            final[manifest] = rendered.tree[manifest]
    for path in writes:
        if not path.endswith(f"/{MANIFEST}"):
            _write_file(repo, path, rendered.tree[path])
    manifests_last = sorted(changes.removed, key=lambda path: (path.endswith(f"/{MANIFEST}"), path))
    for path in manifests_last:
        _remove_file(repo, path)
    for manifest, data in final.items():
        _write_file(repo, manifest, data)
    for path in manifests_last:
        _prune_empty((repo / path).parent, stop=repo / ENVIRONMENTS_DIR)


def _write_file(repo: Path, path: str, data: bytes) -> None:
    survey = _Survey(repo)
    survey.inspect(path)
    survey.raise_problems()
    target = repo / path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileSystemError(target.parent, "create the folder", exc) from None
    atomic_write(target, data)


def _remove_file(repo: Path, path: str) -> None:
    survey = _Survey(repo)
    survey.inspect(path)
    survey.raise_problems()
    try:
        (repo / path).unlink(missing_ok=True)
    except OSError as exc:
        raise FileSystemError(repo / path, "remove", exc) from None


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent

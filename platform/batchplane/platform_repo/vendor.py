"""Vendored trees: batchplane's modules and custom checks, copied into a platform repository.

A platform repository made by ``batchplane init`` holds its own copy of ``modules/`` and
``policies/checks/`` (its roots call ``../../modules``; ``check`` loads the checks from the
repository). Each copy carries a stamp, ``<tree>/.batchplane-version``: the batchplane version
it came from and the sha256 of every file as vendored. Comparing three digests per file (the
repository's, the stamp's, the installed batchplane's) tells apart a copy that is merely
older than the installed batchplane from one that was edited by hand:

* ``outdated``: the file is as vendored, the installed batchplane has another version of it
  (or added or removed it) -- ``upgrade`` replaces it safely;
* ``edited``: the file differs from the stamp (changed, added or deleted locally) --
  ``upgrade`` overwrites it only with ``--force``.

A tree without a stamp is not vendored (this repository's own ``modules/``): never reported.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from batchplane import __version__, layout
from batchplane.errors import ChangesPendingError, StateFileError
from batchplane.platform_repo.bundled import bundled_dir

STAMP = ".batchplane-version"
VENDORED_TREES = (layout.MODULES_DIR, layout.CHECKS_DIR)
_SKIPPED_DIRS = frozenset({"__pycache__", ".terraform"})
_SKIPPED_SUFFIXES = (".pyc",)


@dataclass(frozen=True)
class VendoredFile:
    """One file whose repository copy differs from the installed batchplane's."""

    tree: str
    path: str
    """Relative to the tree."""
    state: str
    """``outdated`` or ``edited`` (see the module docstring)."""
    installed: bytes | None
    local: bytes | None

    @property
    def address(self) -> str:
        return f"{self.tree}/{self.path}"

    def change(self) -> str:
        """What ``upgrade`` does to it: add, update or remove."""
        if self.local is None:
            return "add"
        return "remove" if self.installed is None else "update"

    def diff(self) -> str:
        """A unified diff from the repository's copy to the installed one."""
        before = _lines(self.local)
        after = _lines(self.installed)
        return "".join(difflib.unified_diff(before, after, f"a/{self.address}", f"b/{self.address}"))


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    text = data.decode("utf-8", errors="replace")
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file of a tree (tree-relative POSIX path -> content), without caches and the stamp."""
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in names:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if relative == STAMP or name.endswith(_SKIPPED_SUFFIXES) or path.is_symlink():
                continue
            files[relative] = path.read_bytes()
    return files


def read_stamp(repo: Path, tree: str) -> dict[str, str] | None:
    """The stamp's file digests, or None when the tree is not vendored."""
    path = repo / tree / STAMP
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateFileError(path, None, f"a JSON stamp written by batchplane ({exc})") from None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise StateFileError(path, None, 'an object with "files": {path: sha256}')
    return {str(k): str(v) for k, v in files.items()}


def stamp_version(repo: Path, tree: str) -> str | None:
    """The batchplane version a vendored tree came from (None when unstamped or unreadable)."""
    try:
        document = json.loads((repo / tree / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = document.get("batchplane") if isinstance(document, dict) else None
    return str(version) if version is not None else None


def stamp_text(files: Mapping[str, bytes]) -> str:
    document = {
        "about": "written by `batchplane init`/`upgrade`: the version these files came from and their sha256 as "
        "vendored. Do not edit; `batchplane render --check` compares with it to tell local edits from updates.",
        "batchplane": __version__,
        "files": {path: digest(files[path]) for path in sorted(files)},
    }
    return json.dumps(document, indent=2) + "\n"


def differences(repo: Path) -> list[VendoredFile]:
    """Files of the vendored trees of ``repo`` that differ from the installed batchplane, sorted."""
    found: list[VendoredFile] = []
    for tree in VENDORED_TREES:
        stamp = read_stamp(repo, tree)
        if stamp is None:
            continue
        local = tree_files(repo / tree)
        installed = tree_files(bundled_dir(tree))
        for path in sorted(set(local) | set(installed) | set(stamp)):
            mine, theirs = local.get(path), installed.get(path)
            if mine == theirs:
                continue
            as_vendored = (digest(mine) if mine is not None else None) == stamp.get(path)
            found.append(VendoredFile(tree, path, "outdated" if as_vendored else "edited", theirs, mine))
    return found


def vendor(repo: Path, tree: str) -> None:
    """Copy the installed ``tree`` into ``repo`` exactly (files it lacks are removed) and stamp it."""
    source = bundled_dir(tree)
    target = repo / tree
    files = tree_files(source)
    for stale in set(tree_files(target)) - set(files):
        (target / stale).unlink()
    for relative in sorted(files):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)
        shutil.copymode(source / relative, destination)
    _remove_empty_dirs(target)
    (target / STAMP).write_text(stamp_text(files), encoding="utf-8")


def _remove_empty_dirs(root: Path) -> None:
    for directory in sorted(_dirs(root), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def _dirs(root: Path) -> Iterator[Path]:
    for directory, subdirs, _ in os.walk(root):
        for name in subdirs:
            if name not in _SKIPPED_DIRS:
                yield Path(directory, name)


class LocalEditsError(ChangesPendingError):
    """``upgrade`` without ``--force`` would overwrite files edited in the repository: exit 6."""


def revendor(repo: Path, found: list[VendoredFile], *, force: bool) -> list[str]:
    """Re-vendor every stamped tree of ``repo`` from the installed batchplane; the trees rewritten.

    ``found`` is :func:`differences` of ``repo``. A file edited locally is overwritten only with
    ``force``; without it nothing is written (:class:`LocalEditsError`, exit 6).
    """
    edited = [f.address for f in found if f.state == "edited"]
    if edited and not force:
        raise LocalEditsError(
            f"{len(edited)} vendored file(s) were edited in this repository: {', '.join(edited)}; "
            "nothing was written. Keep the edits elsewhere, or `batchplane upgrade --force` to replace them"
        )
    trees = [t for t in VENDORED_TREES if read_stamp(repo, t) is not None]
    stale = [t for t in trees if stamp_version(repo, t) != __version__ or any(f.tree == t for f in found)]
    for tree in stale:
        vendor(repo, tree)
    return stale

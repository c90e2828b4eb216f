"""The reviewed files of ``modules/``: their digests ship with the package, and only their inline skips count.

A file of ``modules/`` whose content is on the package's list
(``batchplane/policy/known_modules.json``) was reviewed with batchplane: its
``#checkov:skip`` comments are honoured, and its module sources were held to
the rule when the list was made. Any other file is parsed on every check.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from batchplane import layout
from batchplane.policy.findings import ALL_ENVIRONMENTS, Finding
from batchplane.policy.integrity.configuration import entries
from batchplane.policy.integrity.findings import SYMLINK_ID, Where, finding
from batchplane.policy.integrity.sources import check_sources

KNOWN_MODULES = Path(__file__).parents[1] / "known_modules.json"
"""Package data (pyproject's ``package-data``)."""
REGENERATE = (
    ".venv/bin/python -c 'from batchplane.policy.integrity.modules import write_known_modules; write_known_modules()'"
)
_REPOSITORY = Path(__file__).resolve().parents[4]
"""This source tree's platform repository (the example), whose ``modules/`` batchplane reviews."""


def _module_files(modules: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Configuration files and symlinks under ``modules/`` (relative path, entry); no ``.terraform``."""
    if not modules.is_dir():
        return
    for path, entry in entries(modules):
        if entry.name == layout.TERRAFORM_WORK_DIR or f"/{layout.TERRAFORM_WORK_DIR}/" in f"/{path}":
            continue
        if entry.is_symlink() or (entry.is_file() and entry.name.endswith((".tf", ".tf.json"))):
            yield path, entry


def file_digest(data: bytes) -> str:
    """sha256 of a file's content, line endings normalised (a CRLF checkout is the same review)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def module_digests(modules: Path) -> dict[str, str]:
    """modules/-relative path -> digest of every ``.tf``/``.tf.json`` file (what the known list holds)."""
    return {
        path: file_digest(Path(entry.path).read_bytes())
        for path, entry in _module_files(modules)
        if not entry.is_symlink()
    }


@functools.lru_cache(maxsize=1)
def known_modules() -> Mapping[str, str]:
    """The reviewed module files: modules/-relative path -> digest (empty when the list is unreadable)."""
    try:
        document = json.loads(KNOWN_MODULES.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = document.get("files") if isinstance(document, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_known_modules(modules: Path | None = None, target: Path | None = None) -> Path:
    """Regenerate the known list from a reviewed ``modules/`` (default: this repository's)."""
    source = modules or _REPOSITORY / layout.MODULES_DIR
    destination = target or KNOWN_MODULES
    document = {
        "about": "sha256 of every reviewed file of modules/ (CRLF read as LF): inline #checkov:skip "
        "comments count only in these files. Regenerate after a reviewed module change: " + REGENERATE,
        "files": dict(sorted(module_digests(source).items())),
    }
    destination.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    known_modules.cache_clear()
    return destination


def reviewed(path: Path, modules: Path) -> bool:
    """Whether ``path`` is a file of ``modules`` whose content is on the known list (its skips count)."""
    if path.is_symlink():
        return False
    try:
        relative = path.resolve().relative_to(modules.resolve()).as_posix()
        digest = file_digest(path.read_bytes())
    except (OSError, ValueError):
        return False
    return known_modules().get(relative) == digest


def check_modules(repo: Path, known: Mapping[str, str] | None = None) -> list[Finding]:
    """Module sources of every unreviewed file of ``modules/``, and symlinks leading out of it.

    Files on the known list were checked when the list was made (a unit test
    holds every one of them to the same rule), so only new or edited files
    are parsed here: that keeps a full check fast.
    """
    modules = repo / layout.MODULES_DIR
    known = known_modules() if known is None else known
    where = Where(ALL_ENVIRONMENTS, "modules", None)
    findings: list[Finding] = []
    for path, entry in _module_files(modules):
        address = f"modules/{path}"
        file = Path(entry.path)
        if entry.is_symlink():
            target = file.resolve()
            if not target.is_relative_to(modules.resolve()):
                findings.append(finding(where, SYMLINK_ID, address, f"is a symlink to {target}, outside modules/"))
            continue
        if known.get(path) == file_digest(file.read_bytes()):
            continue
        findings += check_sources(where, address, file, file.parent, modules)
    return findings

"""A rendered root holds what render writes, byte for byte, and little else.

Each file of ``environments/<root>/`` is compared with what
:func:`batchplane.render.tree.render` produces for the current spec; besides
those, a root may hold only provider pins in ``.terraform.lock.hcl``, files the
spec declares (``policy.extra_files``), and what Terraform leaves that it never
loads as configuration (local state, an uncommitted ``.terraform/``).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from batchplane import layout
from batchplane.policy.checkov.sourcemap import root_location
from batchplane.policy.findings import Finding
from batchplane.policy.integrity.configuration import (
    META_KEYS,
    entries,
    parse_hcl,
    reserved,
    terraform_loads,
)
from batchplane.policy.integrity.findings import (
    DIFFERS_ID,
    RESERVED_ID,
    SYMLINK_ID,
    UNDECLARED_ID,
    UNREADABLE_ID,
    Where,
    finding,
    reason,
)
from batchplane.policy.integrity.sources import check_declared, check_sources
from batchplane.spec.loader import Spec

LOCK_FILE = layout.TERRAFORM_LOCK_FILE
_STATE_FILES = ("terraform.tfstate", "terraform.tfstate.backup", ".terraform.tfstate.lock.info")
_STATE_DIR = "terraform.tfstate.d"
_WORK_DIR = layout.TERRAFORM_WORK_DIR
_OWN_DIR = layout.ROOT_STATE_DIR
_LOCK_KEYS = {"version", "constraints", "hashes"}
_FIX_RENDER = "run `batchplane render`"
_FIX_DECLARE = "delete it, or declare it in policy.extra_files with a reason"


def _where(spec: Spec, root: str) -> Where:
    return Where(root, *root_location(spec, root))


def declared_files(spec: Spec, root: str) -> dict[str, int]:
    """Root-relative path -> index in ``policy.extra_files`` of the files the spec declares in ``root``."""
    prefix = f"environments/{root}/"
    return {
        extra.path.removeprefix(prefix): index
        for index, extra in enumerate(spec.platform.policy.extra_files)
        if extra.path.startswith(prefix)
    }


def check_root(spec: Spec, root: str, expected: Mapping[str, bytes]) -> list[Finding]:
    """Findings of one root against ``expected`` (root-relative path -> the bytes render writes there)."""
    directory = layout.root_dir(spec.root, root)
    if directory.is_symlink():
        return [finding(_where(spec, root), SYMLINK_ID, f"environments/{root}", "the root itself is a symlink")]
    if not directory.is_dir():
        return []  # BP-TF-001: the root is missing
    where = _where(spec, root)
    declared = declared_files(spec, root)
    label = f"environments/{root}"
    findings: list[Finding] = []
    seen: set[str] = set()
    for path, entry in entries(directory):
        address = f"{label}/{path}"
        if entry.is_symlink():
            findings.append(finding(where, SYMLINK_ID, address, "is a symlink: Terraform and Checkov would follow it"))
            continue
        if entry.is_dir():
            continue
        seen.add(path)
        top = "/" not in path
        if path in expected:
            data = Path(entry.path).read_bytes()
            if data != expected[path]:
                note = " (declaring it in policy.extra_files does not exempt it)" if path in declared else ""
                findings.append(
                    finding(where, DIFFERS_ID, address, f"differs from what render writes{note}: {_FIX_RENDER}")
                )
            continue
        if path == LOCK_FILE:
            findings += _check_lock(where, address, Path(entry.path), expected)
            continue
        if path.startswith((f"{_WORK_DIR}/", f"{_STATE_DIR}/")) or (top and path in _STATE_FILES):
            continue
        why = reserved(path) if top else None
        if path in declared:
            extra = _declared_where(spec, declared[path], root)
            if why is not None or path.startswith(f"{_OWN_DIR}/"):
                what = why or "inside batchplane's own directory"
                findings.append(
                    finding(extra, RESERVED_ID, address, f"is {what}: it cannot be declared in policy.extra_files")
                )
            elif top and terraform_loads(path):
                findings += check_declared(extra, address, Path(entry.path), directory, spec.root / layout.MODULES_DIR)
            continue
        if why is not None:
            findings.append(finding(where, RESERVED_ID, address, f"is {why}, not written by render: delete it"))
        else:
            findings.append(
                finding(where, UNDECLARED_ID, address, f"was not written by render ({_FIX_RENDER}): {_FIX_DECLARE}")
            )
        if top and terraform_loads(path):
            findings += check_sources(where, address, Path(entry.path), directory, spec.root / layout.MODULES_DIR)
    for path in sorted(set(expected) - seen):
        # A file behind a symlink (reported already) is not missing, just not batchplane's.
        if not _behind_link(directory, path):
            findings.append(finding(where, DIFFERS_ID, f"{label}/{path}", f"is missing: {_FIX_RENDER}"))
    if (directory / _WORK_DIR).is_dir() and not (directory / _WORK_DIR).is_symlink():
        for path in _tracked(spec.root, f"{label}/{_WORK_DIR}"):
            findings.append(
                finding(
                    where,
                    UNDECLARED_ID,
                    path,
                    "is committed: .terraform/ is Terraform's working directory (providers, module manifest); "
                    "remove it from git",
                )
            )
    return findings


def _behind_link(directory: Path, path: str) -> bool:
    parts = path.split("/")
    return any((directory / "/".join(parts[: i + 1])).is_symlink() for i in range(len(parts)))


def _declared_where(spec: Spec, index: int, root: str) -> Where:
    loc = ("policy", "extra_files", index)
    return Where(root, f"policy.extra_files[{index}]", spec.locations.line(loc))


def _tracked(repo: Path, path: str) -> list[str]:
    """Files under ``path`` that git tracks; none when this is not a git work tree (or git is absent)."""
    git = shutil.which("git")
    if git is None:
        return []
    try:
        done = subprocess.run(
            [git, "ls-files", "-z", "--", path], cwd=repo, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return sorted(p for p in done.stdout.decode("utf-8", "replace").split("\0") if p)


@functools.lru_cache(maxsize=8)
def _required_providers(versions_tf: bytes) -> frozenset[str]:
    """Provider addresses (registry.terraform.io/ns/name) a rendered versions.tf requires."""
    document = parse_hcl(versions_tf.decode("utf-8"))
    addresses: set[str] = set()
    for block in document.get("terraform", []):
        for required in block.get("required_providers", []):
            for declared in required.values():
                for entry in declared if isinstance(declared, list) else [declared]:
                    source = entry.get("source") if isinstance(entry, dict) else None
                    if isinstance(source, str):
                        addresses.add(source if source.count("/") == 2 else f"registry.terraform.io/{source}")
    return frozenset(addresses)


def _check_lock(where: Where, address: str, path: Path, expected: Mapping[str, bytes]) -> list[Finding]:
    """The lock file may only pin the providers the rendered root requires."""
    allowed = _required_providers(expected.get("versions.tf", b""))
    try:
        document = parse_hcl(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [finding(where, UNREADABLE_ID, address, f"does not parse: {reason(exc)}")]
    problems: list[str] = []
    for key in sorted(set(document) - {"provider"}):
        problems.append(f"holds a {key!r} block")
    for block in document.get("provider", []):
        for name, body in block.items():
            if name not in allowed:
                problems.append(f"pins provider {name!r}, which the rendered root does not require")
            extra = sorted(set(body) - _LOCK_KEYS - META_KEYS) if isinstance(body, dict) else ["(not a block)"]
            if extra:
                problems.append(f"provider {name!r} sets {', '.join(extra)}")
    return [
        finding(where, UNDECLARED_ID, address, f"{p}: it may only hold provider pins (run `terraform init`)")
        for p in problems
    ]

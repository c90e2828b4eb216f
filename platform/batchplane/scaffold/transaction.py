"""All or nothing: the image folder, ``platform.yaml`` and the rendered roots written together.

Everything was decided and checked before; this writes it in an order that a failure
can undo (folder, spec, roots) and, on any failure, restores what was there before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from batchplane.errors import FileSystemError
from batchplane.files import atomic_write
from batchplane.render import Changes, Rendered, write
from batchplane.scaffold.choose import ScaffoldError


def write_all(
    *,
    root: Path,
    image_dir: Path,
    files: dict[str, str],
    spec_path: Path,
    original: bytes,
    edited: str,
    rendered: Rendered,
    changes: Changes,
) -> None:
    """The folder with ``files``, the spec as ``edited`` (if it is still ``original``), the roots; or nothing."""
    backup = {p: (root / p).read_bytes() for p in [*changes.changed, *changes.removed]}
    written: list[str] = []
    try:
        _write_folder(image_dir, files)
        written.append("folder")
        if spec_path.read_bytes() != original:
            raise ScaffoldError(f"{spec_path.name} changed while the job was being added: run `jobs new` again")
        atomic_write(spec_path, edited.encode("utf-8"))
        written.append("spec")
        write(root, rendered, changes)
    except BaseException:
        _restore(root, written, image_dir, spec_path, original, changes, backup)
        raise


def _write_folder(target: Path, files: dict[str, str]) -> None:
    """The whole folder appears at once: built beside its final place, then renamed."""
    try:
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise FileSystemError(target, "create", exc) from None
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8"))
        staging.chmod(0o777 & ~_umask())
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise FileSystemError(target, "create", exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _restore(
    root: Path,
    written: list[str],
    image_dir: Path,
    spec_path: Path,
    original: bytes,
    changes: Changes,
    backup: dict[str, bytes],
) -> None:
    """Undo a half-done scaffold: rendered files, spec, folder."""
    if "spec" in written:
        for path in changes.added:
            (root / path).unlink(missing_ok=True)
        for path, data in backup.items():
            _replace_or_create(root / path, data)
        atomic_write(spec_path, original)
    if "folder" in written:
        shutil.rmtree(image_dir, ignore_errors=True)


def _replace_or_create(target: Path, data: bytes) -> None:
    if target.exists():
        atomic_write(target, data)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

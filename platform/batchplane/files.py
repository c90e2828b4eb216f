"""Writing files the way batchplane promises: all at once, and with a clear error.

The files batchplane replaces (rendered roots, ``images.lock.json``, the spec,
reports) are replaced atomically: a reader, or a run interrupted half-way,
sees the old content or the new one, never half of it. (Histories are
appended to, a line at a time.)
"""

from __future__ import annotations

import os
from pathlib import Path

from batchplane.errors import BatchplaneError, ExitCode


class OutputError(BatchplaneError):
    """An ``--output`` file cannot be written: the user's path to fix, not a bug."""

    exit_code = ExitCode.USAGE


def atomic_write(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``target`` with ``data`` in one rename.

    An existing file keeps its permissions; a new one gets the umask's, like any
    file the user creates (a bare temporary file would be private to its owner).
    ``durable`` also syncs the data to disk before the rename, for files whose
    loss costs more than a re-run (the image lock).
    """
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
    # 0o666 through open(2): the kernel applies the umask, as for any new file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_output(path: Path, data: str | bytes) -> None:
    """Write a command's ``--output`` file; a missing folder or a refused write is exit 2."""
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        atomic_write(path, data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

"""Writing files the way batchplane promises: all at once, and with a clear error.

The files batchplane replaces (rendered roots, ``images.lock.json``, the spec,
reports) are replaced atomically: a reader, or a run interrupted half-way,
sees the old content or the new one, never half of it. (Histories are
appended to, a line at a time.)

Only regular files are replaced. A file batchplane owns that has become a
symlink, a device or a FIFO is refused (it would be replaced by a regular file,
or written through to somewhere outside the repository). An ``--output`` path
the user names is different: a symlink there is followed, and a device, a FIFO
or ``-`` (standard output) is written through, as a shell redirection would.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from batchplane.errors import BatchplaneError, ExitCode, FileSystemError


class OutputError(BatchplaneError):
    """An ``--output`` file cannot be written: the user's path to fix, not a bug."""

    exit_code = ExitCode.USAGE


class UnsafeFileError(BatchplaneError):
    """A file batchplane would replace is a symlink or not a regular file: refused, nothing written."""

    exit_code = ExitCode.TOOL_FAILED


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{12}\.tmp")


def temporary_of(name: str) -> str | None:
    """The file a temporary file named ``name`` was written for, or None.

    :func:`atomic_write` removes its temporary file when it fails, but a killed
    process (SIGKILL, power loss) leaves one behind: render finds and removes them.
    """
    match = _TEMPORARY.fullmatch(name)
    return match.group("name") if match else None


def atomic_write(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace ``target`` with ``data`` in one rename.

    An existing file keeps its permissions; a new one gets the umask's, like any
    file the user creates (a bare temporary file would be private to its owner).
    ``durable`` also syncs the data to disk before the rename, for files whose
    loss costs more than a re-run (the image lock). A ``target`` that is a
    symlink or not a regular file raises :class:`UnsafeFileError`; a refusal
    of the file system (read-only, permissions, no space) :class:`FileSystemError`.
    """
    try:
        info = target.lstat()
    except FileNotFoundError:
        mode: int | None = None
    else:
        if not stat.S_ISREG(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise UnsafeFileError(f"refusing to replace {target}: it is {kind} (remove it and run again)")
        mode = info.st_mode & 0o7777
    tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
    # 0o666 through open(2): the kernel applies the umask, as for any new file.
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise FileSystemError(target, "write", exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileSystemError(target, "write", exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_output(path: Path, data: str | bytes) -> None:
    """Write a command's ``--output`` file; a missing folder or a refused write is exit 2.

    The path was named by the user: ``-`` is standard output, a symlink is
    followed to its target, and a device or FIFO (``/dev/null``, ``/dev/stdout``)
    is written through rather than replaced by a regular file.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if str(path) == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        if target.exists() and not target.is_file():
            with open(target, "wb") as handle:  # a device or a FIFO: write through, never replace
                handle.write(payload)
            return
        if not target.parent.is_dir():
            raise OutputError(f"cannot write {path}: folder {target.parent} does not exist")
        atomic_write(target, payload)
    except FileSystemError as exc:
        raise OutputError(f"cannot write {path}: {exc.cause}") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

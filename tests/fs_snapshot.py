"""What a file-system entry is, read without following it: for before/after comparisons in hostile-input tests."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Entry = tuple[int, int, int, int, int, bytes | str | None]
"""(mode, inode, mtime in ns, size, device number, content of a file or target of a link)."""


def entry(path: Path) -> Entry:
    info = path.lstat()
    content: bytes | str | None = None
    if stat.S_ISREG(info.st_mode):
        content = path.read_bytes()
    elif stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    return (info.st_mode, info.st_ino, info.st_mtime_ns, info.st_size, info.st_rdev, content)

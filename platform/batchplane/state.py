"""Reading the state files batchplane keeps, through one validated model each.

``images.lock.json``, ``history.jsonl`` and the local-AWS files under
``.batchplane/local/`` are written by batchplane but live in the user's tree,
where they can be hand-edited, merged badly, truncated or replaced by a folder.
Every reader goes through here so that each of those is one clear error:

* corruption (not UTF-8, not JSON, the wrong shape, a folder where the file
  should be) is :class:`~batchplane.errors.StateFileError`, exit 3, naming the
  file, the line and what was expected there;
* the file system refusing the read (permission denied, an I/O error) is
  :class:`~batchplane.errors.FileSystemError`, exit 5, naming the path and the
  operation;
* a symlink, FIFO or device in a state file's place is refused
  (:class:`~batchplane.files.UnsafeFileError`, exit 5) without being read: a link
  could lead out of the repository, and a FIFO would block forever.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from batchplane.errors import FileSystemError, StateFileError
from batchplane.files import UnsafeFileError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def read_text(path: Path) -> str | None:
    """The file's text, or ``None`` when there is no file."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileSystemError(path, "read", exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise StateFileError(path, None, "expected a file, found a folder (remove it and run again)")
    if not stat.S_ISREG(info.st_mode):
        # A symlink could point anywhere (and be written through later); a FIFO or a device would
        # block or never end. batchplane keeps these files itself: only a plain file is one of them.
        kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise UnsafeFileError(f"refusing to read {path}: it is {kind} (replace it with the file itself)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileSystemError(path, "read", exc) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StateFileError(path, line, f"expected UTF-8 text, found byte 0x{data[exc.start]:02x}") from None


def _line_of(text: str, loc: tuple[int | str, ...]) -> int:
    """Best-effort line of a validation error: follow the object keys of ``loc`` through the text.

    The standard JSON parser keeps no positions, so the keys are looked up in
    order, each after the previous one; good enough to point an editor at it.
    """
    # Where nothing is found (a missing key, a list where an object belongs), the object that is
    # wrong begins at the last key found, or the document at its first character.
    position = len(text) - len(text.lstrip())
    for part in loc:
        if not isinstance(part, str):
            continue
        at = text.find(json.dumps(part), position)
        if at < 0:
            break
        position = at
    return text.count("\n", 0, position) + 1


def _expected(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    first = exc.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc)
    return loc, f"{where}: {first['msg']}" if where else str(first["msg"])


def parse_json(path: Path, text: str, model: type[M]) -> M:
    """``text`` (the content of ``path``) as ``model``; corruption raises StateFileError."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(path, exc.lineno, f"expected JSON: {exc.msg} (column {exc.colno})") from None
    try:
        return model.model_validate(document, strict=True)
    except ValidationError as exc:
        loc, message = _expected(exc)
        raise StateFileError(path, _line_of(text, loc), f"expected {model.__name__}: {message}") from None


def read_json(path: Path, model: type[M]) -> M | None:
    """The JSON file at ``path`` as ``model``; ``None`` when there is no file."""
    text = read_text(path)
    return None if text is None else parse_json(path, text, model)


def read_jsonl(path: Path, adapter: TypeAdapter[T], what: str) -> Iterator[T]:
    """Each line of a JSON Lines file as ``adapter``'s type, oldest first.

    Appends are a line at a time, so a crash can leave a torn line: JSON cut
    short, whose only fault is that it ends too early. Such a line is skipped
    (the next append starts a new line after it). Anything else that is not a
    valid record is corruption, reported at its line.
    """
    text = read_text(path)
    if text is None:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(line.rstrip()) or exc.msg.startswith("Unterminated string")
            if cut_short:  # an append cut short, not a hand-made line
                continue
            raise StateFileError(path, number, f"expected one JSON {what} per line: {exc.msg}") from None
        try:
            yield adapter.validate_python(document, strict=True)
        except ValidationError as exc:
            _, message = _expected(exc)
            raise StateFileError(path, number, f"expected a {what}: {message}") from None

"""The background processes `local start` leaves running: spawn, record, find, stop.

The emulator and the image registry are both a program listening on a port of
127.0.0.1, started in a session of its own with its output in a log under
``.batchplane/local/``, and recorded there in a small JSON file (pid, port,
log). Later commands read the record to find the process, ``local stop`` to
stop it, by PID and never by name.

Writing the log, the record or their folder where the file system refuses is
:class:`~batchplane.errors.FileSystemError` (exit 5), naming the path and the
operation; a corrupt record is :class:`~batchplane.errors.StateFileError`
(exit 3), as for every state file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from batchplane.errors import FileSystemError, ToolError
from batchplane.files import atomic_write
from batchplane.state import read_json


@dataclass(frozen=True)
class Process:
    """A process `local start` left running: its PID, the port it listens on and its log."""

    pid: int
    port: int
    log: str


P = TypeVar("P", bound=Process)


class ProcessRecord(BaseModel):
    """``emulator.json`` / ``registry.json``: the process `local start` left running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pid: int = Field(gt=0)
    port: int = Field(gt=0, lt=65536)
    log: str


def read_process(path: Path, kind: type[P]) -> P | None:
    """The process recorded at ``path`` (None when nothing is); a corrupt record is exit 3 at its line."""
    record = read_json(path, ProcessRecord)
    return None if record is None else kind(pid=record.pid, port=record.port, log=record.log)


def make_folder(folder: Path) -> None:
    """``folder`` and its parents; a refusal of the file system is exit 5 naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileSystemError(folder, "create folder", exc) from None


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` (and create its folder) all at once, or raise FileSystemError."""
    make_folder(path.parent)
    atomic_write(path, text.encode("utf-8"))


def write_process(path: Path, process: Process) -> None:
    """Record ``process`` at ``path`` for the commands that come after."""
    write_text(path, json.dumps(asdict(process)) + "\n")


def spawn(command: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output appended to ``log``; the caller stops it."""
    make_folder(log.parent)
    try:
        sink = log.open("ab")
    except OSError as exc:
        raise FileSystemError(log, "write", exc) from None
    with sink:
        try:
            return subprocess.Popen(
                list(command),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        except OSError as exc:  # the program is not there, or not executable
            raise FileSystemError(Path(command[0]), "run", exc) from None


def already_running(current: P | None, port: int | None, tool: str) -> P | None:
    """``current``, for the caller to use again; a ToolError when it listens on another port than asked for."""
    if current is not None and port is not None and port != current.port:
        raise ToolError(tool, [], f"already running on port {current.port}: `batchplane local stop` first")
    return current


def require_free_port(port: int, tool: str, option: str) -> None:
    """Raise ToolError, naming the ``option`` that chooses another, when ``port`` is taken."""
    if not port_free(port):
        raise ToolError(tool, [], f"port {port} on 127.0.0.1 is taken by another program: choose another with {option}")


def launch(
    kind: type[P],
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    record: Path,
    ready: Callable[[subprocess.Popen[bytes], P], None],
    env: Mapping[str, str] | None = None,
) -> P:
    """Spawn ``command``, wait until ``ready`` (which raises when it is not), then record it at ``record``.

    Whatever fails after the spawn (not ready, the record refused) stops the process again:
    nothing is left running that no record names.
    """
    process = spawn(command, log, env)
    state = kind(pid=process.pid, port=port, log=str(log))
    try:
        ready(process, state)
        write_process(record, state)
    except BaseException:
        stop_process(process.pid)
        raise
    return state


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_free(port: int) -> bool:
    """Whether nothing listens on ``port`` of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answers(url: str, timeout: float = 5.0, accepted: tuple[int, ...] = ()) -> bool:
    """Whether ``url`` answers with success, or with one of the ``accepted`` HTTP error codes."""
    import urllib.error  # late: http.client costs ~60 ms at start-up
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code in accepted
    except (urllib.error.URLError, OSError):
        return False


def await_answer(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None, accepted: tuple[int, ...] = ()
) -> str | None:
    """Wait until ``url`` answers: None when it does, else why not (the process exited, or time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return f"exited with code {process.returncode}"
        if answers(url, accepted=accepted):
            return None
        time.sleep(0.2)
    return f"did not answer within {timeout:.0f} s"


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """Stop a process we started, by PID: TERM, then KILL after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        if finished == pid:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_recorded(path: Path, kind: type[P]) -> P | None:
    """Stop the process recorded at ``path`` (by PID) and forget it; None when none was recorded."""
    process = read_process(path, kind)
    if process is None:
        return None
    if alive(process.pid):
        stop_process(process.pid)
    remove(path)
    return process


def remove(path: Path) -> None:
    """Delete ``path`` if it is there; a refusal of the file system is exit 5 naming it."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise FileSystemError(path, "remove", exc) from None

"""``NO_COLOR`` or a stream that is not a terminal: no escape sequence at all, on stdout or stderr.

Every command's ``--help`` and a set of real invocations that need no AWS run in one
Python process (through the real executable's entry point) on a copy of the example
repository, once with pipes and once with NO_COLOR on pseudo-terminals. The same run on
terminals without NO_COLOR must show escapes, or the check would prove nothing.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import copy_example
from tests.unit.cli_tree import walk

ESC = b"\x1b"

DRIVER = """
import json, sys
from batchplane.cli import entry

for args in json.loads(sys.argv[1]):
    for stream in (sys.stdout, sys.stderr):
        stream.write("\\n=== batchplane " + " ".join(args) + "\\n")
        stream.flush()
    sys.argv = ["batchplane", *args]
    try:
        entry.main()
    except SystemExit:
        pass
    sys.stdout.flush()
    sys.stderr.flush()
"""

HELP = [[*path, "--help"] for path, _ in walk()]
INVOCATIONS = [
    ["validate"],
    ["validate", "--json"],
    ["render", "--check"],
    ["--quiet", "render", "--check"],
    ["schema"],
    ["graph", "--env", "dev"],
    ["diff", "--from", "dev", "--to", "prod"],
    ["check", "--spec-only"],
    ["check", "--spec-only", "--format", "json"],
    ["local", "status"],
    ["jobs", "status"],
    ["jobs", "submit", "no-such-job", "--env", "dev"],
    ["jobs", "logs", "1234", "--env", "nowhere"],
    ["jobs", "why", "1234", "--env", "nowhere"],
    ["validate", "--spec", "missing.yaml"],
    ["no-such-command"],
    ["graph", "--env", "dev", "--format", "nope"],
]


def _environment(**extra: str) -> dict[str, str]:
    quiet = {
        "NO_COLOR",
        "FORCE_COLOR",
        "PY_COLORS",
        "GITHUB_ACTIONS",
        "_TYPER_FORCE_DISABLE_TERMINAL",
        "CLICOLOR_FORCE",
    }
    env = {k: v for k, v in os.environ.items() if k not in quiet}
    env.update(TERM="xterm-256color", COLUMNS="100", BATCHPLANE_DEBUG="", **extra)
    return env


def _command(runs: list[list[str]]) -> list[str]:
    return [sys.executable, "-c", DRIVER, json.dumps(runs)]


def _on_pipes(runs: list[list[str]], cwd: Path, env: dict[str, str]) -> tuple[bytes, bytes]:
    done = subprocess.run(
        _command(runs), check=False, cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=600
    )
    return done.stdout, done.stderr


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            return
        if not data:
            return
        into.append(data)


def _on_terminals(runs: list[list[str]], cwd: Path, env: dict[str, str]) -> tuple[bytes, bytes]:
    """stdout and stderr each on its own pseudo-terminal."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    child = subprocess.Popen(
        _command(runs), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_slave, stderr=err_slave
    )
    os.close(out_slave)
    os.close(err_slave)
    chunks: dict[int, list[bytes]] = {out_master: [], err_master: []}
    readers = [threading.Thread(target=_drain, args=(fd, into)) for fd, into in chunks.items()]
    for reader in readers:
        reader.start()
    try:
        child.wait(timeout=600)
    finally:
        for reader in readers:
            reader.join(timeout=30)
        os.close(out_master)
        os.close(err_master)
    return b"".join(chunks[out_master]), b"".join(chunks[err_master])


def _first_escape(stream: bytes) -> str:
    """The invocation that printed the first escape, for the failure message."""
    before = stream[: stream.index(ESC)]
    marker = before.rfind(b"=== ")
    return before[marker:].split(b"\n", 1)[0].decode() if marker >= 0 else "?"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("escapes"))


def _assert_plain(stdout: bytes, stderr: bytes) -> None:
    assert ESC not in stdout, _first_escape(stdout)
    assert ESC not in stderr, _first_escape(stderr)
    # The runs ran: every invocation left its marker and most printed something.
    assert stdout.count(b"=== batchplane") == len(HELP) + len(INVOCATIONS)
    assert b"valid (" in stdout
    assert b"Usage:" in stdout
    assert b"error:" in stderr


def test_not_a_terminal_means_no_escapes(repo: Path) -> None:
    _assert_plain(*_on_pipes(HELP + INVOCATIONS, repo, _environment()))


def test_no_color_on_a_terminal_means_no_escapes(repo: Path) -> None:
    _assert_plain(*_on_terminals(HELP + INVOCATIONS, repo, _environment(NO_COLOR="1")))


def test_a_terminal_without_no_color_has_escapes(repo: Path) -> None:
    """The control: the pseudo-terminals above are terminals to Rich, so the two tests can fail."""
    stdout, stderr = _on_terminals([["--help"], ["validate", "--spec", "missing.yaml"]], repo, _environment())
    assert ESC in stdout
    assert ESC in stderr

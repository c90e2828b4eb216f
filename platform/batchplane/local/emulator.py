"""The embedded AWS: a moto server on 127.0.0.1, started, found and stopped per repository.

``local start`` runs ``python -m batchplane.local.server`` (moto's server with
batchplane's fidelity extensions) with the interpreter batchplane runs in,
records it in ``.batchplane/local/emulator.json`` (its output goes to
``emulator.log`` beside it), and every ``--local`` command finds it there.
moto comes with the ``local`` extra (``pip install 'batchplane[local]'``):
without it, ``local start`` says so before starting anything.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.local.processes import (
    Process,
    alive,
    already_running,
    answers,
    await_answer,
    launch,
    read_process,
    require_free_port,
    spawn,
    stop_recorded,
)

TOOL = "local AWS"
DEFAULT_PORT = 5055
STATE_FILE = "emulator.json"
LOG_FILE = "emulator.log"
# moto's dashboard page: cheap, unlike /moto-api/data.json which dumps all state.
HEALTH_PATH = "/moto-api/"
# What `python -m moto.server` imports first: moto, and the web server moto[server] brings.
SERVER_MODULES = ("moto", "flask", "flask_cors")
INSTALL_HINT = "install the extra with `pip install 'batchplane[local]'`"


@dataclass(frozen=True)
class EmulatorState(Process):
    """What `local start` recorded: enough to find, check and stop the emulator."""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def missing_server_modules(find: Callable[[str], object | None] = importlib.util.find_spec) -> list[str]:
    """The modules of moto's server that ``find`` (this interpreter's import system) cannot find."""
    return [name for name in SERVER_MODULES if find(name) is None]


def require_server() -> None:
    """Raise ToolError, saying how to install it, when this interpreter cannot run moto's server."""
    missing = missing_server_modules()
    if missing:
        raise ToolError(
            TOOL,
            [],
            f"moto's server cannot run with {sys.executable} (no module {', '.join(missing)}): {INSTALL_HINT}",
        )


def emulator_command(port: int) -> list[str]:
    """moto server with batchplane's extensions (:mod:`batchplane.local.server`), on loopback only."""
    return [sys.executable, "-m", "batchplane.local.server", "-H", "127.0.0.1", "-p", str(port)]


def emulator_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The emulator's environment: ``base`` (ours by default) with moto's switches for batchplane."""
    env = dict(os.environ if base is None else base)
    # Attaching AWS managed policies (the Batch instance role's) needs them loaded.
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # Job containers share the host network, so they reach the emulator on 127.0.0.1.
    env.setdefault("MOTO_DOCKER_NETWORK_MODE", "host")
    env.pop("MOTO_ACCOUNT_ID", None)
    # BATCHPLANE_LOCAL_TIME_SCALE (schedules and queue time limits run that many times faster) passes as it is.
    return env


def start_emulator(port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start moto server in the background; the caller owns (and stops) the process."""
    require_server()
    return spawn(emulator_command(port), log, emulator_environment())


def wait_until_healthy(
    endpoint: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    """Block until the emulator answers, or raise ToolError (naming its log, when there is one)."""
    failure = await_answer(f"{endpoint}{HEALTH_PATH}", timeout, process)
    if failure is None:
        return
    detail = f"the emulator at {endpoint} {failure}"
    if log is not None:
        detail += f": see its log {log}"
    raise ToolError(TOOL, [], detail)


def state_path(repo: Path) -> Path:
    """``.batchplane/local/emulator.json``."""
    return layout.local_dir(repo) / STATE_FILE


def read_state(repo: Path) -> EmulatorState | None:
    """What `local start` recorded (None when nothing is); a corrupt record is exit 3 at its line."""
    return read_process(state_path(repo), EmulatorState)


def running_emulator(repo: Path) -> EmulatorState | None:
    """The emulator started for this repository, if it is alive and answering."""
    state = read_state(repo)
    if state is None or not alive(state.pid) or not answers(f"{state.endpoint}{HEALTH_PATH}", timeout=10):
        return None
    return state


def require_emulator(repo: Path) -> EmulatorState:
    """The running emulator, or a clear error saying how to start it."""
    state = running_emulator(repo)
    if state is None:
        raise ToolError(TOOL, [], "not running: start it with `batchplane local start`")
    return state


def start(repo: Path, port: int | None = None, timeout: float = 60.0) -> tuple[EmulatorState, bool]:
    """Start the emulator unless it runs already; returns (state, started_now)."""
    current = already_running(running_emulator(repo), port, TOOL)
    if current is not None:
        return current, False
    port = port or DEFAULT_PORT
    require_server()
    require_free_port(port, TOOL, "--port")
    log = layout.local_dir(repo) / LOG_FILE

    def healthy(process: subprocess.Popen[bytes], state: EmulatorState) -> None:
        wait_until_healthy(state.endpoint, timeout=timeout, process=process, log=log)

    state = launch(
        EmulatorState,
        emulator_command(port),
        port=port,
        log=log,
        record=state_path(repo),
        ready=healthy,
        env=emulator_environment(),
    )
    return state, True


def stop(repo: Path) -> EmulatorState | None:
    """Stop the emulator recorded for this repository (by PID); None when none ran."""
    return stop_recorded(state_path(repo), EmulatorState)

"""The local image registry: where ``images build --local`` pushes and local jobs pull from.

``local start`` runs the CNCF distribution registry (Debian's ``docker-registry``)
on 127.0.0.1 and records it in ``.batchplane/local/registry.json``. Its images
live under ``.batchplane/local/registry/``, so they survive a restart.

Where that program is not installed (macOS, other distributions), the same
registry runs as a container on the Docker engine instead: ``docker run`` of
``registry:2`` (``BATCHPLANE_REGISTRY_IMAGE`` names another image with the same
interface: port 5000, images under ``/var/lib/registry``), published on
127.0.0.1 only, with the same folder mounted for its images. The recorded
process is the ``docker run`` client; stopping it stops the container, and
``stop`` removes the container by name in case the client was killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.local import processes

TOOL = "local registry"
DEFAULT_REGISTRY_PORT = 5056
REGISTRY_STATE_FILE = "registry.json"
REGISTRY_LOG_FILE = "registry.log"
REGISTRY_HOME = "registry"
# Debian ships the CNCF distribution registry as docker-registry; upstream builds name it registry.
REGISTRY_BINARIES = ("docker-registry", "registry")
REGISTRY_IMAGE_ENV = "BATCHPLANE_REGISTRY_IMAGE"
DEFAULT_REGISTRY_IMAGE = "registry:2"
# The registry's API root answers 401 when it asks for credentials: it is up all the same.
_UP_CODES = (401,)


@dataclass(frozen=True)
class RegistryState(processes.Process):
    """What `local start` recorded about the local image registry."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def registry_state_path(repo: Path) -> Path:
    """``.batchplane/local/registry.json``."""
    return layout.local_dir(repo) / REGISTRY_STATE_FILE


def _api(host: str) -> str:
    return f"http://{host}/v2/"


def read_registry_state(repo: Path) -> RegistryState | None:
    """What `local start` recorded about the registry (None when nothing readable is recorded)."""
    return processes.read_process(registry_state_path(repo), RegistryState)


def running_registry(repo: Path) -> RegistryState | None:
    """The registry started for this repository, if it is alive and answering."""
    state = read_registry_state(repo)
    if state is None or not processes.alive(state.pid):
        return None
    return state if processes.answers(_api(state.host), accepted=_UP_CODES) else None


def registry_host(repo: Path) -> str:
    """Where `local start` put the registry. Not probed here: a push that finds it gone retries, then fails."""
    state = read_registry_state(repo)
    if state is None:
        raise ToolError(
            TOOL,
            [],
            "not started: `batchplane local start` starts it (Debian's docker-registry, or its image on Docker)",
        )
    return state.host


def registry_config(port: int, storage: Path) -> str:
    """The registry's configuration: loopback only, images kept under ``storage``."""
    return (
        "# written by batchplane local start\n"
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        # Quoted (JSON is YAML): a path may hold ": " or " #".
        f"storage:\n  filesystem:\n    rootdirectory: {json.dumps(str(storage))}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


def start_registry(repo: Path, port: int | None = None, timeout: float = 30.0) -> tuple[RegistryState, bool]:
    """Start the local registry unless it runs already; returns (state, started_now).

    A missing program, a taken port or a registry that does not come up is a
    :class:`ToolError`; a file system that refuses its files is a
    :class:`~batchplane.errors.FileSystemError`.
    """
    current = processes.already_running(running_registry(repo), port, TOOL)
    if current is not None:
        return current, False
    port = port or DEFAULT_REGISTRY_PORT
    processes.require_free_port(port, TOOL, "--registry-port")
    home = layout.local_dir(repo) / REGISTRY_HOME
    processes.make_folder(home / "data")
    config = home / "config.yml"
    processes.write_text(config, registry_config(port, (home / "data").resolve()))
    log = layout.local_dir(repo) / REGISTRY_LOG_FILE
    command = registry_command(port, config, (home / "data").resolve())

    def up(process: subprocess.Popen[bytes], state: RegistryState) -> None:
        failure = processes.await_answer(_api(state.host), timeout, process, accepted=_UP_CODES)
        if failure is not None:
            raise ToolError(TOOL, command, f"did not start: {failure} (see {log})")

    state = processes.launch(RegistryState, command, port=port, log=log, record=registry_state_path(repo), ready=up)
    return state, True


def container_name(port: int) -> str:
    return f"batchplane-registry-{port}"


def registry_command(port: int, config: Path, data: Path) -> list[str]:
    """The registry program serving ``config``; else the registry image on the Docker engine.

    Neither is a :class:`ToolError` naming both ways to get one.
    """
    binary = next((found for name in REGISTRY_BINARIES if (found := shutil.which(name))), None)
    if binary is not None:
        return [binary, "serve", str(config)]
    docker = shutil.which("docker")
    if docker is None:
        raise ToolError(
            TOOL,
            [],
            "no registry program on PATH and no docker CLI to run the registry image "
            "(Debian: apt-get install docker-registry; elsewhere install Docker)",
        )
    image = os.environ.get(REGISTRY_IMAGE_ENV) or DEFAULT_REGISTRY_IMAGE
    return [
        docker, "run", "--rm", "--name", container_name(port),
        "--publish", f"127.0.0.1:{port}:5000", "--volume", f"{data}:/var/lib/registry", image,
    ]  # fmt: skip


def stop_registry(repo: Path) -> RegistryState | None:
    """Stop the registry recorded for this repository (by PID); None when none ran."""
    state = processes.stop_recorded(registry_state_path(repo), RegistryState)
    docker = shutil.which("docker")
    if state is not None and docker is not None and not any(shutil.which(n) for n in REGISTRY_BINARIES):
        # The container of the fallback, should its `docker run` client have died without stopping it.
        subprocess.run([docker, "rm", "--force", container_name(state.port)], capture_output=True, check=False)
    return state

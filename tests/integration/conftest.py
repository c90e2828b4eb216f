"""Real terraform with the real AWS provider, and a real moto server.

Nothing here skips: a missing terraform, provider mirror or moto is a failure
(`make test` installs and finds them; see the README).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchplane.local.emulator import start_emulator, wait_until_healthy
from batchplane.local.processes import stop_process
from batchplane.terraform.runner import MIRROR_ENV

pytestmark = pytest.mark.integration


def _find_mirror() -> str | None:
    # The Makefile exports the mirror; a bare `pytest` finds it the same way.
    for candidate in sorted(Path("/opt").glob("*/registry.terraform.io")) + sorted(
        Path("/opt").glob("*/*/registry.terraform.io")
    ):
        return str(candidate.parent)
    return None


@pytest.fixture(scope="session", autouse=True)
def _terraform_ready(tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH: the integration tests need it (run `make test`)")
    if not os.environ.get(MIRROR_ENV):
        mirror = _find_mirror()
        if mirror is not None:
            os.environ[MIRROR_ENV] = mirror


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server for this test worker, stopped by PID afterwards."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = start_emulator(port, log)
    try:
        wait_until_healthy(endpoint, timeout=60, process=process)
        yield endpoint
    finally:
        stop_process(process.pid)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()

"""A copy of the example repository with its own local AWS, driven through the real CLI."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane.local import emulator_client, read_state
from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalRepo:
    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "platform.yaml"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "batchplane", *args, "--spec", str(self.spec)]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def client(self, service: str, account: str) -> Any:
        state = read_state(self.root)
        assert state is not None, "the local AWS is not running"
        return emulator_client(state.endpoint, account, service, "eu-west-1")

    def plan_json(self, env: str) -> dict[str, Any]:
        result = self.run("plan", "--env", env, "--local", "--json")
        assert result.returncode == 0, result.stderr
        plans: list[dict[str, Any]] = json.loads(result.stdout)["plans"]
        return plans[0]


def make_local_repo(target: Path) -> LocalRepo:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    for name in ("job_images", "environments", "modules"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    repo = LocalRepo(target)
    started = repo.run("local", "start", "--port", str(free_port()), timeout=120)
    assert started.returncode == 0, started.stderr
    return repo

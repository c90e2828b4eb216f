"""A copy of the example repository with its own local AWS, driven through the real CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane.images.lock import ImageLock, LockEntry, write_lock
from batchplane.local.accounts import emulator_client
from batchplane.local.emulator import read_state
from batchplane.spec import load_spec
from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_DEFAULT_SIGINT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


# Root integrity switched off in this one process, for tests of the plan gate's own judgement:
# the product has no switch for it (see the README, "What the gate guarantees").
_WITHOUT_ROOT_INTEGRITY = (
    "import sys; from batchplane.policy import integrity; from batchplane.policy.findings import Outcome; "
    "integrity.check_named_roots = lambda *a, **k: Outcome(); integrity.check_roots = lambda *a, **k: Outcome(); "
    "from batchplane.cli.app import main; sys.argv[0] = 'batchplane'; main()"
)


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

    def run_without_root_integrity(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """The command with root integrity switched off, so that only the later layers judge."""
        command = [sys.executable, "-c", _WITHOUT_ROOT_INTEGRITY, *self.command(*args)[3:]]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The command in the background, reachable by Ctrl-C (SIGINT) as if started at a terminal.

        A test run started as a background job inherits SIGINT ignored, and so
        would this command (Python keeps an ignored SIGINT ignored): a small
        wrapper restores the default and then becomes the command (same PID).
        """
        wrapped = [sys.executable, "-c", _DEFAULT_SIGINT_THEN_EXEC, *self.command(*args)[1:]]
        return subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def client(self, service: str, account: str) -> Any:
        state = read_state(self.root)
        assert state is not None, "the local AWS is not running"
        return emulator_client(state.endpoint, account, service, "eu-west-1")

    def plan_json(self, env: str) -> dict[str, Any]:
        result = self.run("plan", "--env", env, "--local", "--json")
        assert result.returncode == 0, result.stderr
        plans: list[dict[str, Any]] = json.loads(result.stdout)["plans"]
        return plans[0]


def pin_production(root: Path) -> None:
    """Stand-in digests for the production tiers, which refuse unpinned images (these tests run no job)."""
    spec = load_spec(root / "platform.yaml")
    entries = {
        image: {
            env: LockEntry(digest=f"sha256:{hashlib.sha256(image.encode()).hexdigest()}", tag="t", source_hash="t")
            for env, settings in spec.platform.environments.items()
            if settings.tier == "production"
        }
        for image in {job.image for job in spec.platform.jobs.values()}
    }
    write_lock(root, ImageLock(images=entries))


def make_local_repo(target: Path, *, pinned: bool = True) -> LocalRepo:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(
            REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")
        )
    repo = LocalRepo(target)
    if pinned:
        pin_production(target)
        assert repo.run("render").returncode == 0
    started = repo.run("local", "start", "--port", str(free_port()), "--registry-port", str(free_port()), timeout=120)
    assert started.returncode == 0, started.stderr
    return repo

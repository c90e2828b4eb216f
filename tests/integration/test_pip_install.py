"""From `pip install batchplane` to a platform repository of your own, that runs on the embedded AWS.

The wheel is built from this checkout (into a temporary copy, so the checkout gets no build
folders) and installed with its `local` extra into a fresh virtual environment. Everything
after that runs that environment's `batchplane` in a temporary folder, with no PYTHONPATH:
no file of this repository is read. Real terraform, Docker, moto and pip (the index is
whatever pip is configured with).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.lifecycle_support import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# What the wheel is built from: the packaging files and what setup.py ships.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "platform", "modules", "policies", ".github")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".terraform", "*.egg-info", "build", "fixtures")


def _engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _build_wheel(workspace: Path) -> Path:
    source = workspace / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=_IGNORED)
        else:
            shutil.copy2(path, source / name)
    wheels = workspace / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("batchplane-*.whl")
    return wheel


class Installed:
    """The fresh environment's batchplane, run in the new platform repository."""

    def __init__(self, venv: Path, repo: Path) -> None:
        self.venv = venv
        self.repo = repo
        self.env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env.setdefault("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")
        self.env.setdefault("CHECKPOINT_DISABLE", "1")

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "batchplane"), *args],
            cwd=cwd or self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if not _engine_answers():
        pytest.fail("no Docker engine answers: `make test` starts one (scripts/with-docker.sh)")
    workspace = tmp_path_factory.mktemp("pip-install")
    wheel = _build_wheel(workspace)
    venv = workspace / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[local]"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    home = workspace / "home"
    home.mkdir()
    tool = Installed(venv, home / "acme-batch")
    yield tool
    if (tool.repo / ".batchplane" / "local").exists():
        tool.run("local", "stop", timeout=120)


def test_pip_install_init_check_up_and_run_hello(installed: Installed) -> None:
    made = installed.run("init", "acme-batch", "--name", "acme", cwd=installed.repo.parent, timeout=300)
    assert made.returncode == 0, made.stderr
    imported = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import batchplane; print(batchplane.__file__)"],
        cwd=installed.repo,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(installed.venv)  # the wheel's code, not the checkout's

    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "batchplane init"]):
        subprocess.run([*git, *command], cwd=installed.repo, check=True)

    for args in (["validate"], ["render", "--check"]):
        result = installed.run(*args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
    checked = installed.run("check", "--format", "json", timeout=600)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["summary"]["failed"] == 0, report["summary"]

    started = installed.run(
        "local", "start", "--port", str(free_port()), "--registry-port", str(free_port()), timeout=180
    )
    assert started.returncode == 0, started.stderr
    up = installed.run("up", "--env", "dev", "--local", timeout=1500)
    assert up.returncode == 0, up.stderr
    ran = installed.run("jobs", "submit", "hello", "--env", "dev", "--local", "--wait", "--json", timeout=900)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "SUCCEEDED"
    stopped = installed.run("local", "stop", timeout=120)
    assert stopped.returncode == 0, stopped.stderr

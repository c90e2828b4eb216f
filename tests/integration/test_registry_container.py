"""Without the registry program, `local start`'s image registry runs as a container on the Docker engine.

No image registry is reachable from the machines this is tested on, so the test
builds its own image with the registry's interface (port 5000, images under
/var/lib/registry, like ``registry:2``) from the registry program this machine
has, then hides that program from PATH and names the image with
BATCHPLANE_REGISTRY_IMAGE, as a macOS user would rely on ``registry:2``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from batchplane.local.registry import (
    REGISTRY_BINARIES,
    REGISTRY_IMAGE_ENV,
    container_name,
    running_registry,
    start_registry,
    stop_registry,
)
from tests.integration.lifecycle_support import free_port

pytestmark = pytest.mark.integration

CONFIG = """version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
"""


def _registry_image(docker: str, workdir: Path) -> str:
    program = next(found for name in REGISTRY_BINARIES if (found := shutil.which(name)))
    context = workdir / "context"
    context.mkdir()
    shutil.copy2(program, context / "registry")
    (context / "config.yml").write_text(CONFIG)
    base = os.environ.get("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY registry /usr/local/bin/registry\nCOPY config.yml /etc/docker/registry/config.yml\n"
        'ENTRYPOINT ["registry", "serve", "/etc/docker/registry/config.yml"]\n'
    )
    tag = "batchplane-test/registry:local"
    subprocess.run([docker, "build", "--quiet", "--tag", tag, str(context)], check=True, capture_output=True)
    return tag


def _status(host: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _containers(docker: str, name: str) -> str:
    listed = subprocess.run(
        [docker, "ps", "--all", "--quiet", "--filter", f"name=^{name}$"], capture_output=True, text=True, check=True
    )
    return listed.stdout.strip()


def test_the_registry_runs_as_a_container_when_its_program_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = shutil.which("docker")
    assert docker is not None, "the integration suite needs the Docker CLI and engine"
    image = _registry_image(docker, tmp_path)
    only_docker = tmp_path / "bin"
    only_docker.mkdir()
    (only_docker / "docker").symlink_to(docker)
    monkeypatch.setenv("PATH", str(only_docker))
    monkeypatch.setenv(REGISTRY_IMAGE_ENV, image)
    repo = tmp_path / "repo"
    repo.mkdir()
    port = free_port()

    state, started = start_registry(repo, port)
    try:
        assert started
        assert _status(state.host) == 200
        assert _containers(docker, container_name(port))
        assert running_registry(repo) == state
    finally:
        stop_registry(repo)
    assert not _containers(docker, container_name(port))
    assert running_registry(repo) is None

"""Which registry `local start` runs: the program when it is installed, else the image on Docker, else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchplane.errors import ToolError
from batchplane.local.registry import REGISTRY_IMAGE_ENV, container_name, registry_command


def _path_with(tmp_path: Path, *names: str) -> str:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        program = folder / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return str(folder)


def test_the_registry_program_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "docker-registry", "docker"))
    command = registry_command(5056, Path("/c.yml"), Path("/data"))
    assert command == [str(tmp_path / "bin" / "docker-registry"), "serve", "/c.yml"]


def test_without_it_the_image_runs_on_loopback_with_the_images_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "docker"))
    monkeypatch.delenv(REGISTRY_IMAGE_ENV, raising=False)
    command = registry_command(5056, Path("/c.yml"), Path("/data"))
    assert command[1:] == [
        "run", "--rm", "--name", container_name(5056),
        "--publish", "127.0.0.1:5056:5000", "--volume", "/data:/var/lib/registry", "registry:2",
    ]  # fmt: skip


def test_with_neither_the_error_names_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    with pytest.raises(ToolError, match="apt-get install docker-registry; elsewhere install Docker"):
        registry_command(5056, Path("/c.yml"), Path("/data"))

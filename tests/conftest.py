"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPEC = REPO / "platform.yaml"


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    """A copy of the example platform repository (spec, images, modules, rendered roots)."""
    target = tmp_path / "repo"
    target.mkdir()
    shutil.copy2(EXAMPLE_SPEC, target / "platform.yaml")
    for name in ("job_images", "environments", "modules"):
        source = REPO / name
        if source.exists():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return target


def copy_example(tmp_path: Path) -> Path:
    """A copy of the example repository with its rendered roots, modules, policies and job images."""
    target = tmp_path / "repo"
    target.mkdir()
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(
            REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")
        )
    return target

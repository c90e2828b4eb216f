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

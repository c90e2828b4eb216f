"""Every job image's container tests, and those `jobs new` gives a new image, pass.

An image's container tests (``job_images/<image>/tests/test_<package>_container.py``, marked
integration; the unit run of the image's tests deselects them) build the image, start it with
testcontainers against a moto server and check what it wrote. Each image's run is its own
pytest process in the image's folder, as `python -m pytest tests` runs there. Without a Docker
engine these tests fail, like the rest of the integration suite: a missing tool is never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.images.build import docker_client
from batchplane.images.sources import available
from tests.conftest import REPO, copy_example

pytestmark = pytest.mark.integration

IMAGES = available(REPO)


@pytest.fixture(scope="module")
def engine() -> None:
    try:
        docker_client()
    except ToolError as error:
        pytest.fail(f"no Docker engine: {error} (make test starts one)")


def run_container_tests(folder: Path) -> str:
    """Run the integration tests of one image folder; returns pytest's summary line."""
    env = dict(os.environ)
    env.setdefault("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")  # as the Makefile sets it
    env["CI"] = "true"  # the engine answers: a container test that skips is a failure
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-m", "integration", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_example_images_are_all_there() -> None:
    assert {"csv-ingest", "report", "data-quality"} <= set(IMAGES)


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("image", IMAGES)
def test_the_container_tests_of_each_image_pass(image: str) -> None:
    folder = REPO / layout.IMAGES_DIR / image
    assert list((folder / "tests").glob("test_*_container.py")), f"{image} has no container test"

    summary = run_container_tests(folder)

    assert re.match(r"\d+ passed, \d+ deselected in ", summary), summary


@pytest.mark.usefixtures("engine")
def test_a_new_job_gets_container_tests_that_pass(tmp_path: Path) -> None:
    repo = copy_example(tmp_path)
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")  # its pytest markers, as in this repository
    done = subprocess.run(
        [sys.executable, "-m", "batchplane", "jobs", "new", "demo-x", "--spec", str(repo / "platform.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    folder = repo / layout.IMAGES_DIR / "demo-x"
    assert (folder / "tests" / "test_demo_x_container.py").is_file()

    summary = run_container_tests(folder)

    assert summary.startswith("2 passed, 3 deselected in "), summary

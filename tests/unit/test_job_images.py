"""Each job image's own unit tests (job_images/<image>/tests), run in-process so CI runs them.

An image's code is a top-level package inside its folder (that folder is the Docker build
context), so it is importable only with the folder on sys.path. Each image gets its own inner
pytest session with its folder prepended; afterwards the image's modules are dropped again so
that two images never see each other's code.
"""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO

JOB_IMAGES = REPO / "job_images"
# Every folder with a Dockerfile is an image; its package is the folder name with "_" for "-".
IMAGES = sorted(path.name for path in JOB_IMAGES.iterdir() if (path / "Dockerfile").is_file())


def package_of(image: str) -> str:
    return image.replace("-", "_")


def test_the_example_images_are_there_each_with_its_package_and_tests() -> None:
    assert {"csv-ingest", "report", "data-quality"} <= set(IMAGES)
    for image in IMAGES:
        assert (JOB_IMAGES / image / package_of(image) / "__main__.py").is_file(), image
        assert list((JOB_IMAGES / image / "tests").glob("test_*.py")), image


@pytest.mark.parametrize("image", IMAGES)
def test_job_image_unit_tests_pass(image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = JOB_IMAGES / image
    package = package_of(image)
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    try:
        # importlib mode names test modules by their path (job_images.<image>.tests...), so the
        # image's tests/ folder never shadows this repository's `tests` package. Its container
        # tests (marked integration) run in tests/integration/test_job_image_containers.py.
        code = pytest.main(
            [str(folder / "tests"), "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-m", "not integration"]
        )
    finally:
        for name in set(sys.modules) - before:
            if name == package or name.startswith((f"{package}.", "job_images")):
                del sys.modules[name]

    assert code == pytest.ExitCode.OK, f"job_images/{image}/tests failed: see the captured output above"

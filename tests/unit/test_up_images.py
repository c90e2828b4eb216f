"""``up``'s image skip: an image is built and pushed only when its pin for the environment is not current."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchplane.images.lock import ImageLock, LockEntry
from batchplane.images.pipeline import plan_images
from batchplane.images.registry import Registry
from batchplane.images.sources import sources
from batchplane.spec import load_spec
from tests.conftest import copy_example
from tests.unit.registry_stub import registry_answering

DIGEST = "sha256:" + "a" * 64
IMAGE = "csv-ingest"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BATCHPLANE_BASE_IMAGE", raising=False)
    return copy_example(tmp_path)


def _pinned(repo: Path, environment: str = "dev", source_hash: str | None = None) -> ImageLock:
    current = source_hash or sources(repo, [IMAGE])[0].source_hash
    entry = LockEntry(digest=DIGEST, tag="git-1234567", source_hash=current)
    return ImageLock(images={IMAGE: {environment: entry}})


def _plan(repo: Path, registry: Registry, lock: ImageLock) -> tuple[list[str], list[str]]:
    work = plan_images(load_spec(repo / "platform.yaml"), [IMAGE], registry, "dev", lock)
    return [r.name for r in work.current], [s.name for s in work.todo]


def test_an_unchanged_image_the_registry_holds_is_neither_built_nor_pushed(example: Path) -> None:
    with registry_answering(200) as registry:
        work = plan_images(load_spec(example / "platform.yaml"), [IMAGE], registry, "dev", _pinned(example))
    assert work.todo == []
    [current] = work.current
    assert (current.action, current.digest, current.tag) == ("up-to-date", DIGEST, "git-1234567")
    assert current.repository == f"{registry.host}/acme/{IMAGE}"


def test_a_changed_source_is_built(example: Path) -> None:
    lock = _pinned(example)
    (example / "job_images" / IMAGE / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    with registry_answering(200) as registry:
        assert _plan(example, registry, lock) == ([], [IMAGE])


def test_a_digest_the_registry_lost_is_built_again(example: Path) -> None:
    with registry_answering(404) as registry:
        assert _plan(example, registry, _pinned(example)) == ([], [IMAGE])


def test_a_registry_that_refuses_the_question_means_build(example: Path) -> None:
    with registry_answering(401) as registry:
        assert _plan(example, registry, _pinned(example)) == ([], [IMAGE])


def test_a_pin_for_another_environment_is_no_pin_here(example: Path) -> None:
    with registry_answering(200) as registry:
        assert _plan(example, registry, _pinned(example, "test")) == ([], [IMAGE])


def test_without_an_environment_everything_is_built(example: Path) -> None:
    with registry_answering(200) as registry:
        work = plan_images(load_spec(example / "platform.yaml"), [IMAGE], registry, None, _pinned(example))
    assert [s.name for s in work.todo] == [IMAGE]

"""promote's refusals (everything short of a registry that holds the digest) and the history it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchplane.images import Registry
from batchplane.images.lock import ImageLock, LockEntry, write_lock
from batchplane.spec import load_spec
from batchplane.terraform import history
from batchplane.workflows.promote import PromotionRefusedError, promote
from tests.unit.registry_stub import registry_answering

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
# Nothing listens here: a registry that holds nothing.
NOWHERE = Registry("127.0.0.1:9", "local")


def _pin_dev(repo: Path, digest: str = DIGEST) -> None:
    images = {
        image: {"dev": LockEntry(digest=digest, tag="git-1234567", source_hash="sha256:" + "c" * 64)}
        for image in ("csv-ingest", "report", "data-quality")
    }
    write_lock(repo, ImageLock(images=images))


def _promote(repo: Path, source: str = "dev", target: str = "test", **options: object) -> object:
    settings: dict[str, object] = {
        "images": None,
        "registry": NOWHERE,
        "local": True,
        "approved": False,
        "dry_run": False,
    }
    settings.update(options)
    return promote(load_spec(repo / "platform.yaml"), source, target, **settings)  # type: ignore[arg-type]


def test_history_records_what_was_applied_and_skips_a_torn_line(tmp_path: Path) -> None:
    history.record_applied(tmp_path, "dev", {"csv-ingest": DIGEST}, local=True)
    history.record_applied(tmp_path, "dev", {"csv-ingest": OTHER}, local=True)
    history.record_applied(tmp_path, "test", {"report": OTHER}, local=True)
    path = history.history_path(tmp_path, local=True)
    with path.open("a") as handle:
        handle.write('{"event": "applied", "environment": "dev", "ima')  # a crash mid-write
    assert history.applied_digests(tmp_path, "dev", local=True) == {"csv-ingest": {DIGEST, OTHER}}
    assert history.applied_digests(tmp_path, "dev", local=False) == {}
    first = json.loads(path.read_text().splitlines()[0])
    assert first["by"]
    assert first["at"].endswith("+00:00")


def test_the_same_environment_twice_is_refused(platform_repo: Path) -> None:
    with pytest.raises(PromotionRefusedError, match="both dev"):
        _promote(platform_repo, "dev", "dev")


def test_an_image_no_job_uses_is_refused(platform_repo: Path) -> None:
    with pytest.raises(PromotionRefusedError, match="no job uses image nope"):
        _promote(platform_repo, images=["nope"])


def test_production_needs_approval(platform_repo: Path) -> None:
    with pytest.raises(PromotionRefusedError, match="--approve-production"):
        _promote(platform_repo, "test", "prod")


def test_a_digest_dev_never_applied_is_refused_and_nothing_changes(platform_repo: Path) -> None:
    _pin_dev(platform_repo)
    history.record_applied(platform_repo, "dev", {"csv-ingest": OTHER}, local=True)  # an older digest
    before = (platform_repo / "images.lock.json").read_bytes()
    rendered = (platform_repo / "environments/test/terraform.tfvars.json").read_bytes()
    with pytest.raises(PromotionRefusedError) as refused:
        _promote(platform_repo)
    assert "csv-ingest: no successful apply of dev" in str(refused.value)
    assert (platform_repo / "images.lock.json").read_bytes() == before
    assert (platform_repo / "environments/test/terraform.tfvars.json").read_bytes() == rendered


def test_an_apply_on_aws_is_no_proof_for_the_local_aws(platform_repo: Path) -> None:
    _pin_dev(platform_repo)
    history.record_applied(
        platform_repo, "dev", dict.fromkeys(("csv-ingest", "report", "data-quality"), DIGEST), local=False
    )
    with pytest.raises(PromotionRefusedError, match="no successful apply of dev"):
        _promote(platform_repo, local=True)


def test_a_source_without_a_digest_is_refused(platform_repo: Path) -> None:
    with pytest.raises(PromotionRefusedError, match="dev has no digest"):
        _promote(platform_repo)


def test_a_digest_missing_from_the_registry_is_refused(platform_repo: Path) -> None:
    _pin_dev(platform_repo)
    history.record_applied(
        platform_repo, "dev", dict.fromkeys(("csv-ingest", "report", "data-quality"), DIGEST), local=True
    )
    with registry_answering(404) as registry, pytest.raises(PromotionRefusedError, match=r"is not in the registry"):
        _promote(platform_repo, dry_run=True, registry=registry)

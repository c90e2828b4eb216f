"""promote's refusals (everything short of a registry that holds the digest) and the history it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchplane.errors import ExitCode
from batchplane.images.lock import ImageLock, LockEntry, read_lock, write_lock
from batchplane.images.registry import Registry
from batchplane.spec import load_spec
from batchplane.terraform import history
from batchplane.terraform.targets import ApprovalRequiredError
from batchplane.workflows.promote import Promotion, PromotionRefusedError, promote
from batchplane.workspace import Workspace
from tests.conftest import copy_example
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


def _promote(
    repo: Path,
    source: str = "dev",
    target: str = "test",
    *,
    registry: Registry = NOWHERE,
    local: bool = True,
    **options: object,
) -> Promotion:
    workspace = Workspace(load_spec(repo / "platform.yaml"), registry, local, None)
    settings: dict[str, object] = {"images": None, "approved": False, "dry_run": False}
    settings.update(options)
    return promote(workspace, source, target, **settings)  # type: ignore[arg-type]


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
    with pytest.raises(ApprovalRequiredError, match="--approve-production") as refused:
        _promote(platform_repo, "test", "prod")
    assert refused.value.exit_code == ExitCode.POLICY_FAILED
    assert str(refused.value).startswith("prod needs approval to receive promoted images")


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


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example repository with its policies: the gate runs Checkov with its custom checks."""
    return copy_example(tmp_path)


def _proven_in_dev(repo: Path) -> None:
    _pin_dev(repo)
    history.record_applied(repo, "dev", dict.fromkeys(("csv-ingest", "report", "data-quality"), DIGEST), local=True)


def test_a_proven_digest_the_registry_holds_is_promoted_rendered_and_recorded(example: Path) -> None:
    _proven_in_dev(example)
    with registry_answering(200) as registry:
        promotion = _promote(example, registry=registry)
    assert promotion.written
    assert [(m.image, m.digest, m.previous) for m in promotion.moves] == [
        ("csv-ingest", DIGEST, None),
        ("data-quality", DIGEST, None),
        ("report", DIGEST, None),
    ]
    lock = read_lock(example)
    assert lock.entry("csv-ingest", "test") == lock.entry("csv-ingest", "dev")
    assert lock.entry("csv-ingest", "prod") is None
    assert DIGEST in (example / "environments/test/terraform.tfvars.json").read_text()
    assert promotion.files
    events = [json.loads(line) for line in history.history_path(example, local=True).read_text().splitlines()]
    promoted = [e for e in events if e["event"] == "promoted"]
    assert {(e["from"], e["to"], e["image"], e["digest"]) for e in promoted} == {
        ("dev", "test", image, DIGEST) for image in ("csv-ingest", "report", "data-quality")
    }


def test_a_dry_run_checks_everything_and_writes_nothing(example: Path) -> None:
    _proven_in_dev(example)
    before = (example / "images.lock.json").read_bytes()
    with registry_answering(200) as registry:
        promotion = _promote(example, registry=registry, dry_run=True)
    assert not promotion.written
    assert [m.changes for m in promotion.moves] == [True, True, True]
    assert (example / "images.lock.json").read_bytes() == before


def test_promoting_what_the_target_already_runs_writes_nothing(example: Path) -> None:
    _proven_in_dev(example)
    with registry_answering(200) as registry:
        _promote(example, registry=registry)
        before = (example / "images.lock.json").read_bytes()
        again = _promote(example, registry=registry)
    assert not again.written
    assert [m.changes for m in again.moves] == [False, False, False]
    assert (example / "images.lock.json").read_bytes() == before

"""``up``'s check cache: what a passing check is remembered under, what invalidates it, and the converge skip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from batchplane.images.lock import ImageLock, LockEntry, write_lock
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec import load_spec
from batchplane.terraform import records, targets
from batchplane.workflows import up
from tests.conftest import copy_example
from tests.unit.policy_support import base, spec_from

DIGEST = "sha256:" + "a" * 64
TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def _key(repo: Path, environment: str = "dev", today: dt.date = TODAY) -> str:
    return up.check_key(load_spec(repo / "platform.yaml"), environment, today)


def test_the_shared_root_is_checked_when_the_spec_renders_one(tmp_path: Path) -> None:
    assert up.checked_roots(load_spec(copy_example(tmp_path) / "platform.yaml"), "dev") == ["dev", SHARED_ROOT]


def test_a_spec_with_an_external_registry_has_no_shared_root_whatever_is_on_disk(tmp_path: Path) -> None:
    document = base()
    document["registry"] = {"type": "external", "url": "registry.example.com/team"}
    spec = spec_from(document, tmp_path)
    (tmp_path / "environments" / SHARED_ROOT).mkdir(parents=True)  # a leftover folder decides nothing
    assert up.checked_roots(spec, "dev") == ["dev"]
    assert targets.roots_of(spec) == ["dev", "prod"]


def test_the_key_is_stable_for_an_unchanged_platform(example: Path) -> None:
    assert _key(example) == _key(example)


@pytest.mark.parametrize(
    "relative",
    [
        "platform.yaml",
        "policies/checks/__init__.py",
        "environments/dev/main.tf",
        f"environments/{SHARED_ROOT}/main.tf",
    ],
)
def test_a_change_to_what_the_check_reads_invalidates_the_cache(example: Path, relative: str) -> None:
    before = _key(example)
    with (example / relative).open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    assert _key(example) != before


def test_a_new_pin_in_the_lock_invalidates_the_cache(example: Path) -> None:
    before = _key(example)
    entry = LockEntry(digest=DIGEST, tag="git-1234567", source_hash=DIGEST)
    write_lock(example, ImageLock(images={"csv-ingest": {"dev": entry}}))
    assert _key(example) != before


def test_a_new_day_invalidates_the_cache_because_waivers_expire(example: Path) -> None:
    assert _key(example, today=TODAY + dt.timedelta(days=1)) != _key(example)


@pytest.mark.parametrize(
    "relative",
    ["environments/test/main.tf", "environments/dev/.terraform/providers.txt", "job_images/report/README.md"],
)
def test_what_the_check_does_not_read_keeps_the_cache(example: Path, relative: str) -> None:
    before = _key(example)
    path = example / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    assert _key(example) == before


def test_a_remembered_check_is_not_run_again(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(example / "platform.yaml")
    marker = example / ".batchplane" / "cache" / "check" / up.check_key(spec, "dev")
    marker.parent.mkdir(parents=True)
    marker.touch()

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a remembered check ran again")

    monkeypatch.setattr(up, "run_check", must_not_run)
    said: list[str] = []
    assert up.gate(spec, "dev", said.append) == "passed (cached)"
    assert said == ["check: passed (unchanged since the last passing check)"]


def test_a_passing_check_is_remembered_and_a_spec_change_runs_it_again(example: Path) -> None:
    said: list[str] = []
    spec = load_spec(example / "platform.yaml")
    assert up.gate(spec, "dev", said.append) == "passed"
    assert up.gate(spec, "dev", said.append) == "passed (cached)"
    with (example / "platform.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# a comment is a change too\n")
    changed = load_spec(example / "platform.yaml")
    assert up.gate(changed, "dev", said.append) == "passed"


# --- the converge skip ---------------------------------------------------------


def _converged(tmp_path: Path) -> targets.Target:
    workdir = tmp_path / "environments" / "dev"
    workdir.mkdir(parents=True)
    (workdir / "main.tf").write_text('module "x" { source = "../../modules/x" }\n', encoding="utf-8")
    (tmp_path / "modules" / "x").mkdir(parents=True)
    (tmp_path / "modules" / "x" / "main.tf").write_text("# module\n", encoding="utf-8")
    (workdir / "terraform.tfstate").write_text('{"serial": 1}\n', encoding="utf-8")
    target = targets.Target(tmp_path, "dev", workdir, local=True, needs_approval=False, instance="local:5055:1")
    records.record_converged(target)
    return target


def test_a_root_unchanged_since_its_last_apply_is_not_planned(tmp_path: Path) -> None:
    target = _converged(tmp_path)
    said: list[str] = []
    # No terraform runs: the workdir holds no initialised root, so a plan would fail.
    assert up._converge(target, None, say=said.append) == 0
    assert said == ["dev (local): unchanged since its last apply"]


@pytest.mark.parametrize(
    "change",
    ["environments/dev/main.tf", "modules/x/main.tf", "environments/dev/terraform.tfstate"],
)
def test_a_changed_root_module_or_state_is_planned_again(tmp_path: Path, change: str) -> None:
    target = _converged(tmp_path)
    with (tmp_path / change).open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert not records.unchanged_since_converged(target)


def test_another_local_aws_is_planned_again(tmp_path: Path) -> None:
    target = _converged(tmp_path)
    restarted = targets.Target(
        tmp_path, "dev", target.workdir, local=True, needs_approval=False, instance="local:5055:2"
    )
    assert records.unchanged_since_converged(target)
    assert not records.unchanged_since_converged(restarted)

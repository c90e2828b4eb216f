"""Waivers: they waive matching findings until they expire, and say so when they match nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from batchplane.policy.findings import Outcome
from batchplane.policy.rules import evaluate
from batchplane.policy.waivers import apply_waivers, covers
from tests.unit.policy_support import base, pinned_lock, spec_from

TODAY = dt.date(2026, 6, 1)


def _check(tmp_path: Path, waiver: dict[str, Any], *, environments: list[str] | None = None) -> Outcome:
    doc = base()
    del doc["jobs"]["ingest"]["timeout"]  # trips BP-OPS-002 at jobs.ingest in dev and prod
    doc["policy"] = {"waivers": [waiver]}
    spec = spec_from(doc, tmp_path)
    envs = environments or spec.environments
    outcome = evaluate(spec, envs, pinned_lock())
    return apply_waivers(spec, outcome, TODAY, complete=set(envs) == set(spec.environments), checkov=False)


def _waiver(**changes: Any) -> dict[str, Any]:
    return {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "batch window", "expires": "2026-12-31", **changes}


def test_a_waiver_marks_matching_findings_waived(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver())
    assert [(f.id, f.waived) for f in outcome.findings] == [("BP-OPS-002", True), ("BP-OPS-002", True)]


def test_waived_findings_are_counted_apart(tmp_path: Path) -> None:
    assert _check(tmp_path, _waiver()).summary()["waived"] == 2


def test_a_waiver_of_a_parent_path_covers_its_children() -> None:
    assert covers("jobs", "jobs.ingest.access[0]")


def test_a_waiver_does_not_cover_a_sibling_with_a_common_prefix() -> None:
    assert not covers("jobs.ingest", "jobs.ingest-two")


def test_an_expired_waiver_waives_nothing_and_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2026-01-31"))
    assert sorted((f.id, f.waived, f.spec_path) for f in outcome.findings) == [
        ("BP-OPS-002", False, "jobs.ingest"),
        ("BP-OPS-002", False, "jobs.ingest"),
        ("BP-POL-001", False, "policy.waivers[0]"),
    ]


def test_an_unmatched_waiver_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-IAM-004"))
    assert [f.spec_path for f in outcome.findings if f.id == "BP-POL-002"] == ["policy.waivers[0]"]


def test_an_unmatched_waiver_is_not_judged_on_a_partial_check(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(target="environments.prod", id="BP-OPS-003"), environments=["dev"])
    assert "BP-POL-002" not in {f.id for f in outcome.findings}


def test_a_waiver_of_another_rule_leaves_the_finding_unwaived(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-IAM-004"))
    assert [f.waived for f in outcome.findings if f.id == "BP-OPS-002"] == [False, False]

"""Waivers: they waive matching findings briefly, specifically, never a critical one; the rest are findings."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from batchplane.policy.checkov.severity import CUSTOM_SEVERITY, severity_of
from batchplane.policy.findings import Outcome
from batchplane.policy.rules import evaluate
from batchplane.policy.waiver_base import BaseWaivers
from batchplane.policy.waivers import CRITICAL_CHECKOV_IDS, apply_waivers, covers
from batchplane.spec.models import Waiver
from tests.unit.policy_support import base, pinned_lock, spec_from

TODAY = dt.date(2026, 6, 1)
SOON = "2026-08-01"  # within the default 90 days of TODAY


def _check(
    tmp_path: Path,
    *waivers: dict[str, Any],
    environments: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    doc: dict[str, Any] | None = None,
    at_base: list[dict[str, Any]] | None = None,
) -> Outcome:
    if doc is None:
        doc = base()
        del doc["jobs"]["ingest"]["timeout"]  # trips BP-OPS-002 at jobs.ingest in dev and prod
    doc["environments"]["dev"]["log_retention_days"] = 30  # above the default floor: no BP-OPS-003 in the way
    doc["policy"] = {"waivers": list(waivers), "settings": settings or {}}
    spec = spec_from(doc, tmp_path)
    envs = environments or spec.environments
    others = [e for e in spec.environments if e not in envs]
    outcome = evaluate(spec, envs, pinned_lock())
    return apply_waivers(
        spec,
        outcome,
        TODAY,
        complete=set(envs) == set(spec.environments),
        checkov=False,
        elsewhere=evaluate(spec, others, pinned_lock()).findings,
        base=None if at_base is None else BaseWaivers("main", tuple(Waiver.model_validate(w) for w in at_base)),
    )


def _waiver(**changes: Any) -> dict[str, Any]:
    return {"id": "BP-OPS-002", "target": "jobs.ingest", "reason": "batch window", "expires": SOON, **changes}


def _ids(outcome: Outcome) -> set[str]:
    return {f.id for f in outcome.findings if not f.waived}


def _passrole(doc: dict[str, Any]) -> dict[str, Any]:
    doc["jobs"]["ingest"]["statements"] = [{"actions": ["iam:PassRole"], "resources": ["*"]}]
    return doc


# --- matching --------------------------------------------------------------------


def test_a_waiver_marks_matching_findings_waived(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver())
    assert [(f.id, f.waived) for f in outcome.findings] == [("BP-OPS-002", True), ("BP-OPS-002", True)]


def test_waived_findings_are_counted_apart(tmp_path: Path) -> None:
    assert _check(tmp_path, _waiver()).summary()["waived"] == 2


def test_a_waiver_of_a_parent_path_covers_its_children() -> None:
    assert covers("jobs.ingest", "jobs.ingest.access[0]")


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
    outcome = _check(tmp_path, _waiver(id="BP-SPOT-003"))
    assert [f.spec_path for f in outcome.findings if f.id == "BP-POL-002"] == ["policy.waivers[0]"]


def test_an_unmatched_waiver_is_not_judged_on_a_partial_check(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(target="environments.prod", id="BP-OPS-003"), environments=["dev"])
    assert "BP-POL-002" not in _ids(outcome)


def test_a_waiver_of_another_rule_leaves_the_finding_unwaived(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-SPOT-003"))
    assert [f.waived for f in outcome.findings if f.id == "BP-OPS-002"] == [False, False]


# --- lifetime ---------------------------------------------------------------------


def test_a_waiver_longer_than_max_waiver_days_is_a_high_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2026-12-31"))
    assert [(f.severity, f.spec_path) for f in outcome.findings if f.id == "BP-POL-003"] == [
        ("high", "policy.waivers[0]")
    ]


def test_a_waiver_longer_than_max_waiver_days_waives_nothing(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2099-01-01"))
    assert [f.waived for f in outcome.findings if f.id == "BP-OPS-002"] == [False, False]


def test_a_waiver_ending_on_the_last_allowed_day_is_accepted(tmp_path: Path) -> None:
    last = (TODAY + dt.timedelta(days=90)).isoformat()
    assert _ids(_check(tmp_path, _waiver(expires=last))) == set()


def test_max_waiver_days_comes_from_the_spec(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2026-06-20"), settings={"max_waiver_days": 14})
    assert "BP-POL-003" in _ids(outcome)


def test_the_lifetime_message_names_the_limit(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2099-01-01"))
    (message,) = [f.message for f in outcome.findings if f.id == "BP-POL-003"]
    assert message.endswith(
        "expires 2099-01-01, later than 90 days from today (2026-08-30, policy.settings.max_waiver_days)"
    )


# --- critical findings ------------------------------------------------------------------


def test_a_waiver_of_a_critical_rule_is_refused_even_before_it_matches(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-IAM-004"))
    assert [(f.id, f.severity) for f in outcome.findings if f.id.startswith("BP-POL")] == [("BP-POL-004", "critical")]


def test_a_waiver_of_a_critical_finding_leaves_it_unwaived(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-IAM-004"), doc=_passrole(base()))
    assert [f.waived for f in outcome.findings if f.id == "BP-IAM-004"] == [False, False]
    assert outcome.summary()["waived"] == 0


def test_a_waiver_matching_a_finding_that_is_critical_there_is_refused(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["ingest"]["statements"] = [{"actions": ["*"], "resources": ["arn:aws:s3:::bucket/in/*"]}]
    outcome = _check(tmp_path, _waiver(id="BP-IAM-001", target="jobs.ingest.statements[0]"), doc=doc)
    assert "BP-POL-004" in _ids(outcome)
    assert [f.waived for f in outcome.findings if f.id == "BP-IAM-001"] == [False, False]


def test_a_waiver_of_a_finding_production_raises_to_critical_is_refused(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["ingest"]["environment"]["DB_PASSWORD"] = "hunter22"  # BP-SEC-001: high, critical in prod
    outcome = _check(tmp_path, _waiver(id="BP-SEC-001", target="jobs.ingest.environment.DB_PASSWORD"), doc=doc)
    assert "BP-POL-004" in _ids(outcome)


def test_the_production_finding_refuses_the_waiver_even_when_only_dev_is_checked(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["ingest"]["environment"]["DB_PASSWORD"] = "hunter22"
    outcome = _check(tmp_path, _waiver(id="BP-SEC-001", target="jobs.ingest"), doc=doc, environments=["dev"])
    assert [(f.id, f.waived) for f in outcome.findings if f.id == "BP-SEC-001"] == [("BP-SEC-001", False)]
    assert "BP-POL-004" in _ids(outcome)


def test_a_critical_waiver_is_accepted_when_the_spec_allows_them(tmp_path: Path) -> None:
    outcome = _check(
        tmp_path, _waiver(id="BP-IAM-004"), doc=_passrole(base()), settings={"allow_critical_waivers": True}
    )
    assert [f.waived for f in outcome.findings] == [True, True]


def test_allowed_critical_waivers_still_have_a_lifetime(tmp_path: Path) -> None:
    outcome = _check(
        tmp_path,
        _waiver(id="BP-IAM-004", expires="2099-01-01"),
        doc=_passrole(base()),
        settings={"allow_critical_waivers": True},
    )
    assert _ids(outcome) == {"BP-IAM-004", "BP-POL-003"}


@pytest.mark.parametrize("rule", ["BP-TF-001", "BP-TF-009", "BP-PLAN-002", "CKV_BP_1", "CKV_BP_4"])
def test_the_gates_fail_closed_findings_and_critical_custom_checks_cannot_be_waived(tmp_path: Path, rule: str) -> None:
    assert "BP-POL-004" in _ids(_check(tmp_path, _waiver(id=rule)))


def test_the_critical_checkov_ids_are_those_of_the_checkov_layer() -> None:
    ours = {i for i in CUSTOM_SEVERITY if severity_of(i) == "critical"}
    assert ours == CRITICAL_CHECKOV_IDS == {"CKV_BP_1", "CKV_BP_2", "CKV_BP_4", "CKV_BP_5", "CKV_BP_7"}


def test_waivers_read_the_checkov_severities_without_importing_checkov() -> None:
    """`check --spec-only` refuses waivers of critical custom checks, and must not pay for Checkov's import."""
    code = "import sys, batchplane.policy.waivers; sys.exit('checkov' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0


# --- targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "jobs",
        "environments",
        "queues",
        "compute",
        "policy",
        "policy.waivers[0]",
        "version",
        "*",
        "jobs.",
        "jobs.*",
        "jobs..ingest",
        "jobs.ing*",
        "jobs.ingest.*",
        "jobs.ingest..access",
        "jobs[0]",
        ".jobs.ingest",
        " jobs.ingest",
        "jobs.Ingest",
        "jobs.nope",
        "environments.staging",
        "environments.*.overrides",
        "jobs.ingest.statements[7]",
        "jobs.ingest.timeout",
        "environments.prod.overrides.jobs.ingest",
    ],
)
def test_a_target_that_is_not_one_existing_entry_is_a_high_finding_and_waives_nothing(
    tmp_path: Path, target: str
) -> None:
    outcome = _check(tmp_path, _waiver(target=target))
    assert [(f.severity, f.spec_path) for f in outcome.findings if f.id == "BP-POL-005"] == [
        ("high", "policy.waivers[0]")
    ]
    assert outcome.summary()["waived"] == 0


def test_an_unknown_entry_is_named_with_the_entries_the_spec_has(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(target="jobs.ingest-v2"))
    (message,) = [f.message for f in outcome.findings if f.id == "BP-POL-005"]
    assert message.endswith("names no job 'ingest-v2' (the spec has: ingest)")


@pytest.mark.parametrize(
    "target",
    [
        "jobs.ingest",
        "environments.prod",
        "queues.default",
        "jobs.ingest.access[0]",
        "jobs.ingest.environment.TABLE_NAME",
    ],
)
def test_a_target_of_one_entry_or_below_is_accepted(tmp_path: Path, target: str) -> None:
    outcome = _check(tmp_path, _waiver(target=target))
    assert "BP-POL-005" not in _ids(outcome)


# --- the listing -----------------------------------------------------------------------


def test_every_waiver_is_listed_with_reason_expiry_and_what_it_waived(tmp_path: Path) -> None:
    (listed,) = _check(tmp_path, _waiver()).waivers
    assert (listed.id, listed.target, listed.reason, listed.expires, listed.refused) == (
        "BP-OPS-002",
        "jobs.ingest",
        "batch window",
        SOON,
        (),
    )
    assert sorted(f.environment for f in listed.waived) == ["dev", "prod"]


def test_a_refused_waiver_is_listed_with_why_and_waived_nothing(tmp_path: Path) -> None:
    (listed,) = _check(tmp_path, _waiver(target="jobs", expires="2099-01-01")).waivers
    assert len(listed.refused) == 2
    assert listed.waived == ()


# --- since a base revision -------------------------------------------------------------


def test_a_waiver_the_base_did_not_have_is_a_finding_at_the_severity_of_what_it_waives(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[])
    # BP-OPS-002 is low, raised to medium in the production tier.
    assert [(f.severity, f.spec_path) for f in outcome.findings if f.id == "BP-POL-006"] == [
        ("medium", "policy.waivers[0]")
    ]


def test_a_waiver_the_base_had_is_not_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[_waiver()])
    assert _ids(outcome) == set()
    assert outcome.waivers[0].new_since_base is False


def test_a_waiver_extended_since_the_base_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[_waiver(expires="2026-07-01")])
    (message,) = [f.message for f in outcome.findings if f.id == "BP-POL-006"]
    assert "extended since main: 2026-07-01 -> 2026-08-01" in message


def test_a_waiver_widened_since_the_base_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[_waiver(target="jobs.ingest.retry")])
    assert "BP-POL-006" in _ids(outcome)


def test_a_waiver_moved_to_another_entry_since_the_base_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[_waiver(target="environments.dev")])
    assert "BP-POL-006" in _ids(outcome)


def test_a_waiver_shortened_since_the_base_is_not_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(expires="2026-07-01"), at_base=[_waiver()])
    assert "BP-POL-006" not in _ids(outcome)


def test_a_waiver_narrowed_since_the_base_is_not_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(target="jobs.ingest.retry"), at_base=[_waiver(target="jobs.ingest")])
    assert "BP-POL-006" not in _ids(outcome)


def test_a_new_waiver_that_matches_nothing_is_a_low_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(id="BP-SPOT-003"), at_base=[])
    assert [f.severity for f in outcome.findings if f.id == "BP-POL-006"] == ["low"]


def test_a_new_waiver_of_another_rule_on_the_same_target_is_a_finding(tmp_path: Path) -> None:
    outcome = _check(tmp_path, _waiver(), at_base=[_waiver(id="BP-OPS-001")])
    assert "BP-POL-006" in _ids(outcome)


def test_a_target_in_an_environments_overrides_is_accepted_when_the_override_exists(tmp_path: Path) -> None:
    doc = base()
    del doc["jobs"]["ingest"]["timeout"]
    doc["environments"]["prod"]["overrides"] = {"jobs": {"ingest": {"vcpus": 2}}}
    outcome = _check(tmp_path, _waiver(target="environments.prod.overrides.jobs.ingest"), doc=doc)
    assert "BP-POL-005" not in _ids(outcome)

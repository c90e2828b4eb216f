"""Checkov addresses on generated code map back to the spec through the renderer's source map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchplane.policy.checkov.filters import INLINE_SKIP, carry_inline_skips, plain_address, without_absent_modules
from batchplane.policy.checkov.runtime import expected_custom_ids
from batchplane.policy.checkov.sourcemap import SourceMap
from batchplane.policy.findings import Finding, Outcome, Passed
from batchplane.render.roots import static_main_tf
from tests.conftest import REPO

DEV = REPO / "environments" / "dev"
ENTRIES = json.loads((DEV / ".batchplane" / "sourcemap.json").read_text())["addresses"]
FALLBACK = ("environments.dev", 1)


def _entry(address: str) -> tuple[str, int]:
    return ENTRIES[address]["spec_path"], ENTRIES[address]["line"]


@pytest.fixture
def sourcemap() -> SourceMap:
    return SourceMap.read(DEV, FALLBACK)


def test_a_resource_inside_a_module_instance_maps_to_its_spec_entry(sourcemap: SourceMap) -> None:
    assert sourcemap.locate('module.job["csv-ingest"].aws_iam_role.job') == _entry('module.job["csv-ingest"]')


def test_the_longest_prefix_wins(tmp_path: Path) -> None:
    (tmp_path / ".batchplane").mkdir()
    entries = {"module.job": {"spec_path": "jobs", "line": 1}, 'module.job["a"]': {"spec_path": "jobs.a", "line": 2}}
    (tmp_path / ".batchplane" / "sourcemap.json").write_text(json.dumps({"addresses": entries}))
    assert SourceMap.read(tmp_path, ("", None)).locate('module.job["a"].aws_iam_role.job') == ("jobs.a", 2)


def test_a_module_without_its_index_maps_by_name(sourcemap: SourceMap) -> None:
    # HCL scans do not know count = 0 or 1 and report module.network, not module.network[0].
    assert sourcemap.locate("module.network.aws_vpc.this") == _entry("module.network[0]")


def test_a_prefix_must_end_at_an_address_boundary(sourcemap: SourceMap) -> None:
    assert sourcemap.locate("module.logs_key_other.aws_kms_key.this") == FALLBACK


def test_an_unknown_address_falls_back_to_the_environment(sourcemap: SourceMap) -> None:
    assert sourcemap.locate("aws_s3_bucket.hand_written") == FALLBACK


def test_every_custom_check_id_is_found_in_policies() -> None:
    ids = expected_custom_ids(REPO / "policies" / "checks")
    assert ids == {"CKV_BP_1", "CKV_BP_2", "CKV_BP_3", "CKV_BP_4", "CKV_BP_5", "CKV_BP_6", "CKV_BP_7", "CKV2_BP_1"}


def test_plan_and_hcl_addresses_compare_without_data_prefixes_and_keys() -> None:
    assert plain_address('module.job["a"].data.aws_iam_policy_document.job[0]') == plain_address(
        'module.job["b"].aws_iam_policy_document.job'
    )


def test_a_module_skip_honoured_in_the_hcl_scan_waives_the_same_plan_finding() -> None:
    hcl = Finding(
        "dev", "environments.dev", "CKV_AWS_109", "module.logs_key.aws_iam_policy_document.this", "high", 1, "m"
    )
    plan = Finding(
        "dev", "environments.dev", "CKV_AWS_109", "module.logs_key.data.aws_iam_policy_document.this", "high", 1, "m"
    )
    roots = Outcome((hcl.waive(f"{INLINE_SKIP}key policy"),))
    carried = carry_inline_skips(roots, Outcome((plan,)), "dev")
    assert [f.waived for f in carried.findings] == [True]


def test_a_spec_waiver_in_the_hcl_scan_is_not_carried_to_the_plan() -> None:
    hcl = Finding(
        "dev", "environments.dev", "CKV_AWS_109", "module.logs_key.aws_iam_policy_document.this", "high", 1, "m"
    )
    roots = Outcome((hcl.waive("a spec waiver"),))
    carried = carry_inline_skips(roots, Outcome((hcl,)), "dev")
    assert [f.waived for f in carried.findings] == [False]


def _on(address: str) -> Finding:
    return Finding("test", "environments.test", "CKV_AWS_338", address, "medium", 1, "m")


ABSENT = (
    "module.network.aws_cloudwatch_log_group.flow_logs",
    "module.job.aws_iam_policy_document.job",
)
PRESENT = (
    "module.logs_key.aws_kms_key.this",
    'module.queue["default"].aws_batch_job_queue.this',
    "module.jobs_extra.aws_iam_role.this",  # another module whose name starts like one
)
NO_NETWORK_NO_JOBS = {"network": {"create": False}, "jobs": {}, "job_queues": {"default": {}}}


def _scanned() -> Outcome:
    findings = tuple(sorted(_on(a) for a in (*ABSENT, *PRESENT)))
    passed = tuple(sorted(Passed("test", "CKV_AWS_1", a, "environments.test") for a in (*ABSENT, *PRESENT)))
    return Outcome(findings, passed)


def test_verdicts_on_modules_the_root_instantiates_zero_times_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(static_main_tf("test"))
    kept = without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK_NO_JOBS)
    assert sorted(f.address for f in kept.findings) == sorted(PRESENT)
    assert sorted(p.address for p in kept.passed) == sorted(PRESENT)


def test_a_created_network_and_present_jobs_keep_their_verdicts(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(static_main_tf("dev"))
    values = {"network": {"create": True}, "jobs": {"a": {}}, "job_queues": {"default": {}}}
    assert without_absent_modules(_scanned(), "dev", tmp_path, values) == _scanned()


def test_a_hand_edited_main_tf_keeps_every_verdict(tmp_path: Path) -> None:
    edited = static_main_tf("test").replace("count  = var.network.create ? 1 : 0", "count  = 1")
    assert edited != static_main_tf("test")
    (tmp_path / "main.tf").write_text(edited)
    assert without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK_NO_JOBS) == _scanned()
    (tmp_path / "main.tf").unlink()
    assert without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK_NO_JOBS) == _scanned()

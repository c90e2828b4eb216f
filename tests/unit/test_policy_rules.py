"""Every spec rule: a spec that trips exactly that rule, at the right spec path, and one that passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batchplane.images.lock import ImageLock
from batchplane.policy import reports as report
from batchplane.policy.gate import unpinned_images
from batchplane.policy.rules import RULE_IDS, evaluate
from tests.unit.policy_support import base, pinned_lock, spec_from

Doc = dict[str, Any]


def _job(doc: Doc) -> Doc:
    job: Doc = doc["jobs"]["ingest"]
    return job


def _wildcard_action(doc: Doc) -> None:
    _job(doc)["statements"] = [{"actions": ["s3:Get*"], "resources": ["arn:aws:s3:::bucket/*"]}]


def _resource_star(doc: Doc) -> None:
    _job(doc)["access"].append({"service": "dynamodb", "actions": ["read"], "resources": ["*"]})


def _admin_policy(doc: Doc) -> None:
    _job(doc)["statements"] = [
        {"actions": ["iam:GetPolicy"], "resources": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
    ]


def _passrole(doc: Doc) -> None:
    _job(doc)["statements"] = [{"actions": ["iam:PassRole"], "resources": ["*"]}]


def _unknown_action(doc: Doc) -> None:
    _job(doc)["statements"] = [{"actions": ["s3:GetObjekt"], "resources": ["arn:aws:s3:::bucket/*"]}]


def _privilege_escalation(doc: Doc) -> None:
    _job(doc)["statements"] = [
        {"actions": ["iam:CreatePolicyVersion"], "resources": ["arn:aws:iam::111111111111:policy/jobs"]}
    ]


def _credentials(doc: Doc) -> None:
    _job(doc)["statements"] = [{"actions": ["sts:AssumeRole"], "resources": ["*"]}]


def _resource_exposure(doc: Doc) -> None:
    _job(doc)["statements"] = [{"actions": ["s3:PutBucketPolicy"], "resources": ["arn:aws:s3:::bucket"]}]


def _wildcard_secret(doc: Doc) -> None:
    _job(doc)["secrets"] = {"DB": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-*"}


def _not_interruptible(doc: Doc) -> None:
    _job(doc)["interruptible"] = False


def _no_fallback(doc: Doc) -> None:
    doc["queues"]["default"]["compute"] = ["spot"]


def _best_fit(doc: Doc) -> None:
    doc["compute"]["spot"]["allocation_strategy"] = "BEST_FIT"


def _bid_over_cap(doc: Doc) -> None:
    doc["compute"]["spot"]["bid_percentage"] = 90
    doc["policy"] = {"settings": {"max_spot_bid_percentage": 80}}


def _single_attempt(doc: Doc) -> None:
    _job(doc)["retry"]["attempts"] = 1


def _over_budget(doc: Doc) -> None:
    doc["environments"]["dev"]["max_vcpus"] = 40


def _no_timeout(doc: Doc) -> None:
    del _job(doc)["timeout"]


def _short_retention(doc: Doc) -> None:
    doc["environments"]["dev"]["log_retention_days"] = 14


def _plaintext_secret(doc: Doc) -> None:
    _job(doc)["environment"]["DB_PASSWORD"] = "hunter2"


def _secret_argument(doc: Doc) -> None:
    _job(doc)["command"] += ["--token", "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"]


def _secret_tag(doc: Doc) -> None:
    doc["tags"] = {"deploy-key": "AKIA" + "ABCDEFGHIJKLMNOP"}


def _unplaceable(doc: Doc) -> None:
    doc["compute"]["ondemand"]["instance_types"] = ["c6i.large"]
    _job(doc)["memory_mib"] = 8192


def _gpu_without_gpu_instances(doc: Doc) -> None:
    _job(doc)["gpus"] = 1


def _over_max_vcpus(doc: Doc) -> None:
    _job(doc)["vcpus"] = 48


def _fargate_size(doc: Doc) -> None:
    doc["compute"]["serverless"] = {"kind": "fargate", "max_vcpus": 4}
    doc["queues"]["light"] = {"priority": 2, "compute": ["serverless"]}
    _job(doc).update(queue="light", memory_mib=1024)


def _unknown_instance_type(doc: Doc) -> None:
    doc["compute"]["spot"]["instance_types"].append("c6i.larg")


def _idle_reservation(doc: Doc) -> None:
    doc["queues"]["default"]["fair_share"] = {"shares": {"ingest": 1}, "compute_reservation": 5}
    _job(doc)["share"] = "ingest"


CASES: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("BP-IAM-001", _wildcard_action, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-002", _resource_star, "dev", "jobs.ingest.access[1]"),
    ("BP-IAM-003", _admin_policy, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-004", _passrole, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-005", _wildcard_secret, "dev", "jobs.ingest.secrets.DB"),
    ("BP-IAM-006", _unknown_action, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-007", _privilege_escalation, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-008", _credentials, "dev", "jobs.ingest.statements[0]"),
    ("BP-IAM-009", _resource_exposure, "dev", "jobs.ingest.statements[0]"),
    ("BP-SPOT-001", _not_interruptible, "dev", "jobs.ingest.interruptible"),
    ("BP-SPOT-002", _no_fallback, "prod", "queues.default.compute"),
    ("BP-SPOT-003", _best_fit, "dev", "compute.spot.allocation_strategy"),
    ("BP-SPOT-004", _bid_over_cap, "dev", "compute.spot.bid_percentage"),
    ("BP-SPOT-005", _single_attempt, "dev", "jobs.ingest.retry"),
    ("BP-CAP-001", _unplaceable, "dev", "jobs.ingest.memory_mib"),
    ("BP-CAP-002", _gpu_without_gpu_instances, "dev", "jobs.ingest.gpus"),
    ("BP-CAP-003", _over_max_vcpus, "dev", "jobs.ingest.vcpus"),
    ("BP-CAP-004", _fargate_size, "dev", "jobs.ingest.memory_mib"),
    ("BP-CAP-005", _unknown_instance_type, "dev", "compute.spot.instance_types[1]"),
    ("BP-CAP-006", _idle_reservation, "dev", "queues.default.fair_share.compute_reservation"),
    ("BP-OPS-001", _over_budget, "dev", "environments.dev.max_vcpus"),
    ("BP-OPS-002", _no_timeout, "dev", "jobs.ingest"),
    ("BP-OPS-003", _short_retention, "dev", "environments.dev.log_retention_days"),
    ("BP-SEC-001", _plaintext_secret, "dev", "jobs.ingest.environment.DB_PASSWORD"),
    ("BP-SEC-002", _secret_argument, "dev", "jobs.ingest.command[4]"),
    ("BP-SEC-003", _secret_tag, "dev", "tags.deploy-key"),
]


def _report(doc: Doc, tmp_path: Path, lock: ImageLock | None = None) -> list[dict[str, Any]]:
    spec = spec_from(doc, tmp_path)
    outcome = evaluate(spec, spec.environments, pinned_lock() if lock is None else lock)
    findings: list[dict[str, Any]] = json.loads(report.to_json(outcome))["findings"]
    return findings


def test_the_base_spec_passes_every_rule(tmp_path: Path) -> None:
    assert _report(base(), tmp_path) == []


def test_every_rule_has_a_tripping_case() -> None:
    assert {case[0] for case in CASES} | {"BP-IMG-001"} == RULE_IDS


@pytest.mark.parametrize(("rule", "breaks", "environment", "spec_path"), CASES, ids=[c[0] for c in CASES])
def test_a_spec_that_breaks_one_rule_trips_exactly_that_rule(
    tmp_path: Path, rule: str, breaks: Callable[[Doc], None], environment: str, spec_path: str
) -> None:
    doc = base()
    breaks(doc)
    findings = _report(doc, tmp_path)
    assert {f["id"] for f in findings} == {rule}
    assert (environment, spec_path) in {(f["environment"], f["spec_path"]) for f in findings}


def test_an_unpinned_production_image_trips_only_the_pinning_rule(tmp_path: Path) -> None:
    findings = _report(base(), tmp_path, lock=ImageLock())
    assert [(f["id"], f["environment"], f["spec_path"], f["severity"]) for f in findings] == [
        ("BP-IMG-001", "prod", "jobs.ingest.image", "info")
    ]


def test_findings_carry_the_platform_yaml_line(tmp_path: Path) -> None:
    doc = base()
    _passrole(doc)
    spec = spec_from(doc, tmp_path)
    [finding] = [f for f in evaluate(spec, ["dev"], pinned_lock()).findings]
    lines = spec.path.read_text().splitlines()
    assert finding.line is not None
    assert lines[finding.line - 1].strip() == "- actions:"  # the first line of statements[0]


def test_production_raises_the_severity_of_a_missing_timeout(tmp_path: Path) -> None:
    doc = base()
    _no_timeout(doc)
    severities = {f["environment"]: f["severity"] for f in _report(doc, tmp_path)}
    assert severities == {"dev": "low", "prod": "medium"}


def test_actions_without_resource_level_permissions_may_use_star(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"actions": ["xray:PutTraceSegments", "cloudwatch:PutMetricData"], "resources": ["*"]}]
    assert _report(doc, tmp_path) == []


def test_an_image_pull_token_in_a_job_role_is_credentials_exposure(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"actions": ["ecr:GetAuthorizationToken"], "resources": ["*"]}]
    findings = _report(doc, tmp_path)
    assert {f["id"] for f in findings} == {"BP-IAM-008"}
    assert "ecr:GetAuthorizationToken" in findings[0]["message"]


def test_a_raw_statement_with_star_on_a_data_plane_action_is_flagged(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"actions": ["sqs:SendMessage"], "resources": ["*"]}]
    assert [f["spec_path"] for f in _report(doc, tmp_path)] == ["jobs.ingest.statements[0]"] * 2


def test_deny_statements_are_never_flagged(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"effect": "Deny", "actions": ["*"], "resources": ["*"]}]
    assert _report(doc, tmp_path) == []


def test_a_full_wildcard_action_is_critical(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"actions": ["*"], "resources": ["arn:aws:s3:::bucket/*"]}]
    assert {f["severity"] for f in _report(doc, tmp_path) if f["id"] == "BP-IAM-001"} == {"critical"}


def test_a_read_only_wildcard_is_medium(tmp_path: Path) -> None:
    doc = base()
    _wildcard_action(doc)
    assert {(f["id"], f["severity"]) for f in _report(doc, tmp_path)} == {("BP-IAM-001", "medium")}


def test_a_wildcard_that_reaches_permissions_management_is_critical(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["statements"] = [{"actions": ["s3:Put*"], "resources": ["arn:aws:s3:::bucket/*"]}]
    [wildcard] = [f for f in _report(doc, tmp_path) if f["id"] == "BP-IAM-001" and f["environment"] == "dev"]
    assert wildcard["severity"] == "critical"
    assert "Permissions management" in wildcard["message"]


def test_a_problem_from_an_override_is_located_at_the_override(tmp_path: Path) -> None:
    doc = base()
    doc["environments"]["prod"]["overrides"] = {"jobs": {"ingest": {"environment": {"API_TOKEN": "s3cr3t-t0ken"}}}}
    findings = _report(doc, tmp_path)
    assert [(f["environment"], f["spec_path"]) for f in findings] == [
        ("prod", "environments.prod.overrides.jobs.ingest.environment.API_TOKEN")
    ]


def test_an_aws_access_key_value_is_a_plaintext_secret_whatever_its_name(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["environment"]["UPSTREAM"] = "AKIAABCDEFGHIJKLMNOP"
    assert {f["id"] for f in _report(doc, tmp_path)} == {"BP-SEC-001"}


def test_fargate_spot_needs_a_later_fargate_environment_in_production(tmp_path: Path) -> None:
    doc = base()
    doc["compute"]["fspot"] = {"kind": "fargate-spot", "max_vcpus": 4}
    doc["queues"]["light"] = {"priority": 2, "compute": ["fspot"]}
    findings = _report(doc, tmp_path)
    assert [(f["id"], f["spec_path"]) for f in findings] == [("BP-SPOT-002", "queues.light.compute")]


def test_an_exit_rule_before_the_spot_retry_defeats_it(tmp_path: Path) -> None:
    doc = base()
    _job(doc)["retry"]["on_exit"].insert(0, {"on_reason": "*", "action": "exit"})
    assert {f["id"] for f in _report(doc, tmp_path)} == {"BP-SPOT-005"}


def test_unpinned_images_block_production_even_when_waived(tmp_path: Path) -> None:
    doc = base()
    doc["policy"] = {"waivers": [{"id": "BP-IMG-001", "target": "jobs", "reason": "none yet", "expires": "2030-01-01"}]}
    spec = spec_from(doc, tmp_path)
    assert [f.spec_path for f in unpinned_images(spec, "prod")] == ["jobs.ingest.image"]


def test_development_tiers_need_no_pinned_images(tmp_path: Path) -> None:
    assert unpinned_images(spec_from(base(), tmp_path), "dev") == []

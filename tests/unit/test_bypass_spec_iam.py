"""Bypass corpus, spec side: grants in a job's own statements that look narrow or harmless but are not.

Each attempt is a spec a user could commit; ``check --spec-only`` must exit 4 with
the IAM finding at the statement's line of platform.yaml. The passing half is a
regression net for false positives: well-scoped grants and every ``access`` verb.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.policy.rules import evaluate
from batchplane.spec.access import ACCESS_ACTIONS
from tests.conftest import EXAMPLE_SPEC
from tests.unit.policy_support import base, pinned_lock, spec_from, write_spec

runner = CliRunner()


def _check(tmp_path: Path, statements: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]], list[str]]:
    """``check --spec-only -e dev`` on the base spec with ``statements``: exit code, findings, spec lines."""
    spec = write_spec(tmp_path)
    doc = yaml.safe_load(spec.read_text())
    doc["jobs"]["ingest"]["statements"] = statements
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["check", "--spec-only", "-e", "dev", "--format", "json", "--spec", str(spec)])
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"] if result.stdout.startswith("{") else []
    return result.exit_code, findings, spec.read_text().splitlines()


def _statement_line(lines: list[str]) -> int:
    """The 1-based line of ``statements[0]`` in the written spec (``access`` entries start with ``- service:``)."""
    return next(i for i, line in enumerate(lines, 1) if line.strip() == "- actions:")


def _refused(tmp_path: Path, rule: str, actions: list[str], resources: list[str], *words: str) -> None:
    code, findings, lines = _check(tmp_path, [{"actions": actions, "resources": resources}])
    assert code == 4
    [finding] = [f for f in findings if f["id"] == rule]
    assert finding["spec_path"] == "jobs.ingest.statements[0]"
    assert finding["line"] == _statement_line(lines)
    for word in words:
        assert word in finding["message"]


# --- attempts: each must be refused ------------------------------------------------------------


def test_passrole_on_every_role_of_the_account(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-004", ["iam:PassRole"], ["arn:aws:iam::111111111111:role/*"], "every role")


def test_passrole_on_every_role_of_any_account(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-004", ["iam:PassRole"], ["arn:aws:iam::*:role/*"], "every role")


def test_passrole_through_a_wildcard_action(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-004", ["iam:Pass*"], ["*"], "iam:PassRole")


def test_a_wildcard_action_reaching_passrole_is_critical(tmp_path: Path) -> None:
    _, findings, _ = _check(tmp_path, [{"actions": ["iam:Pass*"], "resources": ["*"]}])
    assert {f["severity"] for f in findings if f["id"] == "BP-IAM-001"} == {"critical"}


def test_get_object_on_every_object_of_every_bucket(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-002", ["s3:GetObject"], ["arn:aws:s3:::*/*"], "data exfiltration", "every object")


def test_run_instances_on_every_ec2_resource_of_the_region(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-002", ["ec2:RunInstances"], ["arn:aws:ec2:eu-west-1:111111111111:*/*"])


def test_put_item_on_every_table(tmp_path: Path) -> None:
    resources = ["arn:aws:dynamodb:eu-west-1:111111111111:table/*"]
    _refused(tmp_path, "BP-IAM-002", ["dynamodb:PutItem"], resources, "every table")


def test_create_policy_version_on_one_policy(tmp_path: Path) -> None:
    resources = ["arn:aws:iam::111111111111:policy/jobs"]
    _refused(tmp_path, "BP-IAM-007", ["iam:CreatePolicyVersion"], resources, "privilege escalation")


def test_attach_role_policy(tmp_path: Path) -> None:
    resources = ["arn:aws:iam::111111111111:role/batch/ingest"]
    _refused(tmp_path, "BP-IAM-007", ["iam:AttachRolePolicy"], resources, "AttachRolePolicy")


def test_passrole_on_one_role_with_run_instances_escalates(tmp_path: Path) -> None:
    statements = [
        {"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::111111111111:role/batch/admin"]},
        {"actions": ["ec2:RunInstances"], "resources": ["arn:aws:ec2:eu-west-1:111111111111:instance/*"]},
    ]
    code, findings, _ = _check(tmp_path, statements)
    assert code == 4
    [finding] = [f for f in findings if f["id"] == "BP-IAM-007"]
    assert finding["spec_path"] == "jobs.ingest.statements[0]"
    assert "CreateEC2WithExistingIP" in finding["message"]


def test_a_typo_action(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-006", ["s3:GetObjekt"], ["arn:aws:s3:::bucket/*"], "'s3:GetObjekt'")


def test_a_wildcard_that_matches_no_action(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-006", ["s3:Nothing*"], ["arn:aws:s3:::bucket/*"], "'s3:Nothing*'")


@pytest.mark.parametrize("action", ['join("", ["*"])', "*:*", "${var.action}"])
def test_an_action_that_is_not_an_action_name_is_refused_by_the_spec_schema(tmp_path: Path, action: str) -> None:
    # The spec's schema admits only action names (and "*"), so such text never reaches the
    # rules: the load fails (exit 3) at its line. batchplane.policy.iam judges the same text
    # unknown (BP-IAM-006) where it can arrive: in a plan, judged by the plan gate.
    spec = write_spec(tmp_path)
    doc = yaml.safe_load(spec.read_text())
    doc["jobs"]["ingest"]["statements"] = [{"actions": [action], "resources": ["*"]}]
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = runner.invoke(app, ["check", "--spec-only", "-e", "dev", "--spec", str(spec)])
    assert result.exit_code == 3
    assert "jobs.ingest.statements[0].actions[0]" in result.output
    assert f"platform.yaml:{_statement_line(spec.read_text().splitlines()) + 1}" in result.output


def test_assume_role_on_every_role(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-008", ["sts:AssumeRole"], ["*"], "credentials exposure", "sts:AssumeRole")


def test_session_tokens(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-008", ["sts:GetSessionToken"], ["*"], "sts:GetSessionToken")


def test_every_secret_through_statements(tmp_path: Path) -> None:
    actions = ["secretsmanager:GetSecretValue"]
    _refused(tmp_path, "BP-IAM-002", actions, ["*"], "secretsmanager:GetSecretValue (data exfiltration)")


def test_every_parameter_by_arn_wildcard(tmp_path: Path) -> None:
    resources = ["arn:aws:ssm:eu-west-1:111111111111:parameter/*"]
    _refused(tmp_path, "BP-IAM-002", ["ssm:GetParameter"], resources, "data exfiltration")


def test_every_action_of_every_service(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-001", ["*"], ["arn:aws:s3:::bucket/*"], "every action of every service")


def test_a_mid_name_wildcard(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-001", ["s3:*Object"], ["arn:aws:s3:::bucket/*"], "s3:*Object")


def test_a_bucket_policy_change_on_one_bucket(tmp_path: Path) -> None:
    _refused(tmp_path, "BP-IAM-009", ["s3:PutBucketPolicy"], ["arn:aws:s3:::bucket"], "resource exposure")


def test_a_key_grant_on_one_key(tmp_path: Path) -> None:
    resources = ["arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    _refused(tmp_path, "BP-IAM-009", ["kms:CreateGrant"], resources, "kms:CreateGrant")


# --- passing: no IAM finding ------------------------------------------------------------------


def _iam_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["id"].startswith("BP-IAM-")]


def test_the_example_spec_has_no_iam_finding() -> None:
    result = runner.invoke(app, ["check", "--spec-only", "--format", "json", "--spec", str(EXAMPLE_SPEC)])
    assert _iam_findings(json.loads(result.stdout)["findings"]) == []


def test_well_scoped_statements_have_no_iam_finding(tmp_path: Path) -> None:
    statements: list[dict[str, Any]] = [
        {"actions": ["cloudwatch:PutMetricData"], "resources": ["*"]},
        {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::bucket/prefix/*"]},
        {"actions": ["dynamodb:PutItem", "dynamodb:GetItem"], "resources": ["table/name"]},
        {"actions": ["dynamodb:Query"], "resources": ["arn:aws:dynamodb:eu-west-1:111111111111:table/name"]},
        {"actions": ["sts:AssumeRole"], "resources": ["arn:aws:iam::222222222222:role/reader"]},
        {"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::111111111111:role/batch/child-job"]},
        {"effect": "Deny", "actions": ["*"], "resources": ["arn:aws:s3:::other/*"]},
    ]
    _, findings, _ = _check(tmp_path, statements)
    assert _iam_findings(findings) == []


SPECIFIC = {
    "s3": "bucket/prefix/*",
    "dynamodb": "table/products",
    "sqs": "jobs-queue",
    "sns": "jobs-topic",
    "secretsmanager": "app/db-AbCdEf",
    "ssm": "/app/param",
    "kms": "key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "logs": "log-group:/app/jobs:*",
}


def test_the_net_covers_every_access_service() -> None:
    assert set(SPECIFIC) == set(ACCESS_ACTIONS)


@pytest.mark.parametrize(
    ("service", "verb"),
    [(service, verb) for service, verbs in ACCESS_ACTIONS.items() for verb in verbs],
)
def test_an_access_verb_on_a_specific_resource_has_no_iam_finding(tmp_path: Path, service: str, verb: str) -> None:
    doc = base()
    doc["jobs"]["ingest"]["access"] = [{"service": service, "actions": [verb], "resources": [SPECIFIC[service]]}]
    spec = spec_from(doc, tmp_path)
    findings = evaluate(spec, spec.environments, pinned_lock()).findings
    assert [(f.id, f.message) for f in findings if f.id.startswith("BP-IAM-")] == []

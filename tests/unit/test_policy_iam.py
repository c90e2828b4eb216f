"""The IAM knowledge base: wildcard expansion, per-action resource breadth, risk naming, the catalogue cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from batchplane.policy.checkov.runtime import CHECKS_DIR
from batchplane.policy.iam import catalogue as knowledge
from batchplane.policy.iam.catalogue import catalogue, load_catalogue
from batchplane.policy.iam.patterns import covers_every, matches
from batchplane.policy.iam.risks import Grant, Risk, grants_from_document, judge
from tests.conftest import REPO

REGION = "eu-west-1"
ACCOUNT = "111111111111"


def _rules(*statements: Grant) -> dict[str, Risk]:
    risks = judge(list(statements), REGION, ACCOUNT)
    return {r.rule: r for r in risks}


def _allow(actions: tuple[str, ...], resources: tuple[str, ...]) -> Grant:
    return Grant("Allow", actions, resources=resources)


# --- expansion -----------------------------------------------------------------------


def test_a_service_wildcard_expands_to_the_real_actions() -> None:
    names = {a.name for a in catalogue().expand("s3:Get*") or []}
    assert {"s3:GetObject", "s3:GetBucketPolicy"} <= names
    assert "s3:PutObject" not in names


def test_star_expands_to_every_action_of_every_service() -> None:
    actions = catalogue().expand("*") or []
    assert len(actions) > 10000
    assert {a.name.split(":")[0] for a in actions} >= {"s3", "iam", "ec2", "batch"}


def test_action_names_match_in_any_case() -> None:
    [action] = catalogue().expand("S3:getobject") or []
    assert action.name == "s3:GetObject"


def test_a_question_mark_matches_one_character() -> None:
    assert [a.name for a in catalogue().expand("iam:PassRol?") or []] == ["iam:PassRole"]


def test_a_typo_expands_to_nothing() -> None:
    assert catalogue().expand("s3:GetObjekt") == []


def test_function_call_text_is_not_an_action_name() -> None:
    assert catalogue().expand('join("", ["*"])') is None


def test_access_levels_come_from_policy_sentry() -> None:
    from policy_sentry.querying.actions import get_action_data

    for name in ("s3:GetObject", "iam:PassRole", "dynamodb:PutItem", "s3:ListBucket"):
        service, action = name.split(":")
        [expected, *_] = get_action_data(service, action)[service]
        assert catalogue().lookup(name) == catalogue().lookup(name.upper())
        found = catalogue().lookup(name)
        assert found is not None
        assert found.access_level == expected["access_level"]


def test_actions_without_a_resource_type_have_none_in_the_catalogue() -> None:
    action = catalogue().lookup("cloudwatch:PutMetricData")
    assert action is not None
    assert action.resource_types == ()


# --- resource breadth ------------------------------------------------------------------

ROLE = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
TABLE = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"


@pytest.mark.parametrize(
    ("resource", "arn_format"),
    [
        ("*", ROLE),
        ("arn:aws:iam::111111111111:role/*", ROLE),
        ("arn:aws:iam::*:role/*", ROLE),
        ("arn:aws:iam::999999999999:role/*", ROLE),
        ("arn:aws:*:*:*:*", ROLE),
        ("arn:aws:s3:::*/*", OBJECT),
        ("arn:aws:s3:::*", OBJECT),
        ("arn:aws:dynamodb:eu-west-1:111111111111:table/*", TABLE),
        ("arn:aws:dynamodb:*:*:table/?*", TABLE),
    ],
)
def test_a_pattern_that_matches_every_resource_of_the_type_is_broad(resource: str, arn_format: str) -> None:
    assert covers_every(resource, arn_format, "aws", REGION, ACCOUNT)


@pytest.mark.parametrize(
    ("resource", "arn_format"),
    [
        ("arn:aws:iam::111111111111:role/batch/*", ROLE),
        ("arn:aws:iam::111111111111:role/app-*", ROLE),
        ("arn:aws:s3:::bucket/*", OBJECT),
        ("arn:aws:s3:::bucket/prefix/*", OBJECT),
        ("arn:aws:s3:::*/reports/*", OBJECT),
        ("arn:aws:dynamodb:eu-west-1:111111111111:table/products", TABLE),
        ("arn:aws:dynamodb:eu-west-1:111111111111:table/????", TABLE),
        ("arn:aws:dynamodb:us-east-1:111111111111:table/*/index/*", TABLE),
    ],
)
def test_a_pattern_with_a_name_in_it_is_not_broad(resource: str, arn_format: str) -> None:
    assert not covers_every(resource, arn_format, "aws", REGION, ACCOUNT)


def test_a_type_with_one_resource_per_account_is_never_broad() -> None:
    assert not covers_every("*", "arn:${Partition}:iam::${Account}:root", "aws", REGION, ACCOUNT)


# --- risks --------------------------------------------------------------------------


def test_passrole_on_every_role_in_the_account_is_bp_iam_004() -> None:
    risk = _rules(_allow(("iam:PassRole",), ("arn:aws:iam::111111111111:role/*",)))["BP-IAM-004"]
    assert risk.severity == "critical"
    assert "every role" in risk.message


def test_passrole_on_one_role_is_no_risk() -> None:
    assert judge([_allow(("iam:PassRole",), ("arn:aws:iam::111111111111:role/batch/job",))], REGION, ACCOUNT) == []


def test_a_wildcard_reaching_passrole_is_judged_by_what_it_expands_to() -> None:
    rules = _rules(_allow(("iam:Pass*",), ("*",)))
    assert rules["BP-IAM-001"].severity == "critical"
    assert "iam:PassRole" in rules["BP-IAM-001"].message
    assert "BP-IAM-004" in rules


def test_privilege_escalation_across_statements_names_the_method_and_both_statements() -> None:
    risk = _rules(
        _allow(("iam:PassRole",), ("arn:aws:iam::111111111111:role/batch/job",)),
        _allow(("ec2:RunInstances",), ("arn:aws:ec2:eu-west-1:111111111111:instance/i-0123",)),
    )["BP-IAM-007"]
    assert risk.statements == (0, 1)
    assert "CreateEC2WithExistingIP" in risk.message
    assert set(risk.actions) == {"iam:PassRole", "ec2:RunInstances"}


def test_a_job_role_needs_no_assume_role_to_escalate_through_its_own_policy() -> None:
    risk = _rules(_allow(("iam:PutRolePolicy",), ("arn:aws:iam::111111111111:role/batch/job",)))["BP-IAM-007"]
    assert "PutRolePolicy" in risk.message


def test_escalation_actions_are_not_reported_again_as_resource_exposure() -> None:
    rules = _rules(_allow(("iam:CreatePolicyVersion",), ("arn:aws:iam::111111111111:policy/jobs",)))
    assert set(rules) == {"BP-IAM-007"}


def test_data_exfiltration_on_every_object_is_named() -> None:
    risk = _rules(_allow(("s3:GetObject",), ("arn:aws:s3:::*/*",)))["BP-IAM-002"]
    assert "s3:GetObject (data exfiltration) on every object" in risk.message


def test_every_instance_of_run_instances_is_broad() -> None:
    risk = _rules(_allow(("ec2:RunInstances",), ("arn:aws:ec2:eu-west-1:111111111111:*/*",)))["BP-IAM-002"]
    assert "ec2:RunInstances" in risk.message


def test_assume_role_on_every_role_is_credentials_exposure() -> None:
    risk = _rules(_allow(("sts:AssumeRole",), ("*",)))["BP-IAM-008"]
    assert risk.message.startswith("credentials exposure")
    assert "sts:AssumeRole" in risk.message


def test_assume_role_on_one_role_is_no_risk() -> None:
    grant = _allow(("sts:AssumeRole",), ("arn:aws:iam::222222222222:role/reader",))
    assert judge([grant], REGION, ACCOUNT) == []


def test_a_token_action_without_resource_types_is_credentials_exposure() -> None:
    risk = _rules(_allow(("sts:GetSessionToken",), ("*",)))["BP-IAM-008"]
    assert "no resource-level permission" in risk.message


def test_a_resource_policy_change_is_resource_exposure_on_any_scope() -> None:
    risk = _rules(_allow(("s3:PutBucketPolicy",), ("arn:aws:s3:::bucket",)))["BP-IAM-009"]
    assert "s3:PutBucketPolicy" in risk.message
    assert "resource exposure" in risk.message


def test_unknown_actions_fail_closed_and_are_quoted() -> None:
    risk = _rules(_allow(("s3:GetObjekt", 'join("", ["*"])'), ("*",)))["BP-IAM-006"]
    assert risk.severity == "critical"
    assert "'s3:GetObjekt'" in risk.message
    assert """'join("", ["*"])'""" in risk.message


def test_a_wildcard_that_matches_nothing_is_unknown() -> None:
    assert "BP-IAM-006" in _rules(_allow(("s3:Nothing*",), ("arn:aws:s3:::bucket/*",)))


def test_not_action_is_unevaluable_and_still_judged_as_what_it_grants() -> None:
    rules = _rules(Grant("Allow", not_actions=("iam:*",), resources=("*",)))
    assert "NotAction" in rules["BP-IAM-006"].message
    assert "BP-IAM-002" in rules  # every other service's actions on every resource


def test_not_resource_is_judged_as_every_resource() -> None:
    rules = _rules(Grant("Allow", ("iam:PassRole",), not_resources=("arn:aws:iam::111111111111:role/admin",)))
    assert "NotResource" in rules["BP-IAM-006"].message
    assert "BP-IAM-004" in rules


def test_each_reason_a_statement_cannot_be_judged_is_a_critical_bp_iam_006() -> None:
    grant = Grant("Allow", ("s3:GetObjekt",), ("iam:*",), ("*",), ("arn:aws:s3:::bucket",))
    unjudgeable = [r for r in judge([grant], REGION, ACCOUNT) if r.rule == "BP-IAM-006"]
    assert [r.message.split()[0] for r in unjudgeable] == ["NotAction", "NotResource", "'s3:GetObjekt':"]
    assert {(r.kind, r.severity, r.statements) for r in unjudgeable} == {("unknown-action", "critical", (0,))}


def test_deny_statements_add_no_risk() -> None:
    assert judge([Grant("Deny", ("*",), resources=("*",))], REGION, ACCOUNT) == []


def test_an_unknown_effect_counts_as_allow() -> None:
    assert "BP-IAM-004" in _rules(Grant("${var.effect}", ("iam:PassRole",), resources=("*",)))


def test_well_scoped_grants_have_no_risk() -> None:
    grants = [
        _allow(("cloudwatch:PutMetricData", "xray:PutTraceSegments"), ("*",)),
        _allow(("s3:GetObject",), ("arn:aws:s3:::bucket/prefix/*",)),
        _allow(("dynamodb:PutItem", "dynamodb:Query"), ("arn:aws:dynamodb:eu-west-1:111111111111:table/name",)),
    ]
    assert judge(grants, REGION, ACCOUNT) == []


def test_a_policy_document_is_read_with_its_not_lists() -> None:
    document = {"Statement": {"Effect": "Allow", "NotAction": "s3:*", "Resource": ["*"]}}
    assert grants_from_document(document) == [Grant("Allow", (), ("s3:*",), ("*",), ())]


# --- the catalogue cache ------------------------------------------------------------------


def test_the_catalogue_is_cached_once_and_records_its_sources(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path)
    [cached] = tmp_path.glob("iam-catalogue-*.json")
    source = json.loads(cached.read_bytes().partition(b"\n")[0])["source"]
    database = Path(source["iam_definition"])
    assert source["iam_definition_sha256"] == hashlib.sha256(database.read_bytes()).hexdigest()
    assert catalogue.source == source


def test_a_cached_catalogue_is_read_without_rebuilding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_catalogue(tmp_path)

    def rebuild() -> None:
        raise AssertionError("rebuilt a valid cache")

    monkeypatch.setattr(knowledge, "build_catalogue_data", rebuild)
    assert load_catalogue(tmp_path).lookup("iam:PassRole") is not None


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    load_catalogue(tmp_path)
    [cached] = tmp_path.glob("iam-catalogue-*.json")
    whole = cached.read_bytes()
    cached.write_bytes(whole[: len(whole) // 2])  # an interrupted copy, say
    assert load_catalogue(tmp_path).lookup("s3:GetObject") is not None
    assert cached.read_bytes() == whole


def test_an_unwritable_cache_directory_still_gives_a_catalogue(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert load_catalogue(blocked / "cache").lookup("s3:GetObject") is not None


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("arn:aws:s3:::*/*", "arn:aws:s3:::b/k", True),
        ("arn:aws:s3:::*/*", "arn:aws:s3:::b", False),
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "acb", False),
        ("ab*b", "ab", False),
        ("table/????", "table/abcd", True),
        ("table/????", "table/abc", False),
        ("role/[a]", "role/a", False),
        ("Role/*", "role/x", False),
    ],
)
def test_iam_wildcards_match_like_iam(pattern: str, text: str, expected: bool) -> None:
    assert matches(pattern, text) is expected


# --- the custom Checkov checks judge breadth with the same knowledge ------------------------


def _checks_iam() -> ModuleType:
    """policies/checks/batchplane_iam.py, as Checkov's loader finds it (a plain file of that directory)."""
    spec = importlib.util.spec_from_file_location("batchplane_iam", REPO / CHECKS_DIR / "batchplane_iam.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", "*"),
        ("iam:PassRole", "arn:aws:iam::111111111111:role/*"),
        ("s3:GetObject", "arn:aws:s3:::*/*"),
        ("s3:GetObject", "arn:*"),  # every ARN at all: the checks' own matcher used to miss it
        ("dynamodb:PutItem", "arn:aws:dynamodb:*:*:table/?*"),
        ("ec2:RunInstances", "arn:aws:ec2:eu-west-1:111111111111:*/*"),
    ],
)
def test_what_the_knowledge_base_calls_every_resource_fails_the_custom_checks(action: str, resource: str) -> None:
    assert {"BP-IAM-002", "BP-IAM-004"} & set(_rules(_allow((action,), (resource,))))
    assert _checks_iam().every_resource(action, [resource]) is not None


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", "arn:aws:iam::111111111111:role/batch/job"),
        ("s3:GetObject", "arn:aws:s3:::bucket/prefix/*"),
        ("s3:GetObject", "arn:${data.aws_partition.current.partition}:s3:::acme-input/*"),
        ("logs:DescribeLogGroups", "arn:aws:logs:eu-west-1:111111111111:log-group:*"),
    ],
)
def test_what_the_knowledge_base_calls_scoped_passes_the_custom_checks(action: str, resource: str) -> None:
    assert _checks_iam().every_resource(action, [resource]) is None


def test_the_custom_checks_want_every_required_type_where_the_spec_rules_want_one() -> None:
    # Module code may launch instances of its own (CKV_BP_1's pass_run_instances_on_new_instances_only);
    # a spec's job role may not.
    grant = ("ec2:RunInstances",), ("arn:aws:ec2:eu-west-1:111111111111:instance/*",)
    assert "BP-IAM-002" in _rules(_allow(*grant))
    assert _checks_iam().every_resource(grant[0][0], list(grant[1])) is None

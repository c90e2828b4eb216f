"""The plan gate's grants ⊆ spec comparison, on hand-made plan JSON shaped like `terraform show -json`.

The clean plan below is what modules/ plan for the small spec of policy_support
on a first plan (roles known, role ids and most documents known only after
apply); each test adds one thing the spec does not produce.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from batchplane.images.lock import ImageLock
from batchplane.policy.checkov.sourcemap import SourceMap
from batchplane.policy.findings import Outcome
from batchplane.policy.grants import check_plan
from batchplane.policy.grants.comparison import compare
from batchplane.policy.grants.expected import expected_env, expected_shared
from batchplane.policy.grants.statements import covers
from batchplane.render.roots import env_sourcemap
from tests.unit.policy_support import base, spec_from

ACCOUNT = "111111111111"
JOB = 'module.job["ingest"]'
TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}
ROLE_UNKNOWN = {"arn": True, "id": True, "inline_policy": True, "managed_policy_arns": True, "unique_id": True}
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def change(address: str, kind: str, after: dict[str, Any], unknown: dict[str, Any] | None = None) -> dict[str, Any]:
    mode = "data" if ".data." in address else "managed"
    actions = ["read"] if mode == "data" else ["create"]
    return {
        "address": address,
        "mode": mode,
        "type": kind,
        "change": {"actions": actions, "after": after, "after_unknown": unknown or {}},
    }


def role(address: str, name: str, trust: dict[str, Any]) -> dict[str, Any]:
    return change(address, "aws_iam_role", {"name": name, "assume_role_policy": json.dumps(trust)}, dict(ROLE_UNKNOWN))


def trust(service: str, condition: bool = True) -> dict[str, Any]:
    statement: dict[str, Any] = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}
    if condition:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def deferred_policy(address: str) -> dict[str, Any]:
    return change(address, "aws_iam_role_policy", {"name": "x"}, {"id": True, "policy": True, "role": True})


def document(address: str, statements: list[dict[str, Any]], unknown_resources: list[list[bool]]) -> dict[str, Any]:
    blocks = [
        {
            "sid": s.get("sid"),
            "effect": None,
            "actions": s["actions"],
            "resources": s["resources"],
            "not_actions": None,
            "not_resources": None,
            "principals": [],
            "not_principals": [],
            "condition": [],
        }
        for s in statements
    ]
    marks = [
        {"actions": [False] * len(s["actions"]), "resources": r}
        for s, r in zip(statements, unknown_resources, strict=True)
    ]
    after = {"statement": blocks, "source_policy_documents": None, "override_policy_documents": None}
    return change(address, "aws_iam_policy_document", after, {"json": True, "statement": marks})


def references(*refs: str) -> dict[str, Any]:
    return {"references": list(refs)}


def clean_plan() -> dict[str, Any]:
    """The IAM of the small spec's dev root on a first plan, as modules/ produce it."""
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministration",
                "Effect": "Allow",
                "Action": "kms:*",
                "Resource": "*",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            },
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*"}
                },
            },
        ],
    }
    job_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3Read0",
                "Effect": "Allow",
                "Action": ["s3:GetObjectVersion", "s3:GetObject"],
                "Resource": "arn:aws:s3:::bucket/in/*",
            },
            {"Sid": "Statement0", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        ],
    }
    changes = [
        change("module.logs_key.aws_kms_key.this", "aws_kms_key", {"policy": json.dumps(key_policy)}, {"arn": True}),
        role(
            "module.network[0].aws_iam_role.flow_logs", "acme-dev-vpc-flow-logs", trust("vpc-flow-logs.amazonaws.com")
        ),
        deferred_policy("module.network[0].aws_iam_role_policy.flow_logs"),
        document(
            "module.network[0].data.aws_iam_policy_document.flow_logs",
            [
                {
                    "actions": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "resources": [None],
                },
                {"actions": ["logs:DescribeLogGroups"], "resources": [f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*"]},
            ],
            [[True], [False]],
        ),
        role(f"{JOB}.aws_iam_role.job", "acme-dev-ingest-job", TASKS_TRUST),
        role(f"{JOB}.aws_iam_role.execution", "acme-dev-ingest-exec", TASKS_TRUST),
        change(
            f"{JOB}.aws_iam_role_policy.job[0]",
            "aws_iam_role_policy",
            {"name": "job", "policy": json.dumps(job_policy)},
            {"id": True, "role": True},
        ),
        deferred_policy(f"{JOB}.aws_iam_role_policy.execution"),
        document(
            f"{JOB}.data.aws_iam_policy_document.execution",
            [
                {"sid": "EcrAuth", "actions": ["ecr:GetAuthorizationToken"], "resources": ["*"]},
                {
                    "sid": "EcrPull",
                    "actions": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "resources": [f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/acme/ingest"],
                },
                {"sid": "Logs", "actions": ["logs:CreateLogStream", "logs:PutLogEvents"], "resources": [None]},
            ],
            [[False], [False], [True]],
        ),
        change(f"{JOB}.aws_batch_job_definition.this", "aws_batch_job_definition", {"name": "acme-dev-ingest"}),
    ]
    for name in ("spot", "ondemand"):
        base_address = f'module.compute["{name}"]'
        role_name = f"acme-dev-{name}-instance"
        changes += [
            role(f"{base_address}.aws_iam_role.instance[0]", role_name, trust("ec2.amazonaws.com", condition=False)),
            change(
                f"{base_address}.aws_iam_role_policy_attachment.instance[0]",
                "aws_iam_role_policy_attachment",
                {
                    "role": role_name,
                    "policy_arn": "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                },
                {"id": True},
            ),
            change(
                f"{base_address}.aws_iam_instance_profile.instance[0]", "aws_iam_instance_profile", {"role": role_name}
            ),
        ]
    job_resources = [
        {
            "address": "aws_iam_role_policy.job",
            "expressions": {"role": references("aws_iam_role.job.id", "aws_iam_role.job")},
        },
        {
            "address": "aws_iam_role_policy.execution",
            "expressions": {
                "role": references("aws_iam_role.execution.id", "aws_iam_role.execution"),
                "policy": references(
                    "data.aws_iam_policy_document.execution.json", "data.aws_iam_policy_document.execution"
                ),
            },
        },
        {"address": "aws_iam_role.job", "expressions": {"name": references("local.name")}},
    ]
    network_resources = [
        {
            "address": "aws_iam_role_policy.flow_logs",
            "expressions": {
                "role": references("aws_iam_role.flow_logs.id", "aws_iam_role.flow_logs"),
                "policy": references(
                    "data.aws_iam_policy_document.flow_logs.json", "data.aws_iam_policy_document.flow_logs"
                ),
            },
        }
    ]
    return {
        "format_version": "1.2",
        "planned_values": {},
        "resource_changes": changes,
        "configuration": {
            "root_module": {
                "module_calls": {
                    "job": {"module": {"resources": job_resources}},
                    "network": {"module": {"resources": network_resources}},
                }
            }
        },
    }


@pytest.fixture
def judge(tmp_path: Path) -> Any:
    spec = spec_from(base(), tmp_path)
    expected = expected_env(spec.env("dev"), "dev", ImageLock())
    mapping = env_sourcemap(spec, "dev")["addresses"]
    sourcemap = SourceMap(("environments.dev", None), {k: (v["spec_path"], v["line"]) for k, v in mapping.items()})

    def run(plan: dict[str, Any]) -> Outcome:
        return compare(plan, "dev", expected, "aws", sourcemap.locate)

    return run


def resource(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in plan["resource_changes"] if c["address"] == address)
    return found


def ids(outcome: Outcome) -> set[tuple[str, str]]:
    return {(f.id, f.address) for f in outcome.findings}


# --- no false positives -------------------------------------------------------


def test_the_plan_modules_make_for_the_spec_passes(judge: Any) -> None:
    outcome = judge(clean_plan())
    assert outcome.findings == ()
    assert len(outcome.passed) == 13  # 5 roles, 3 policies, 2 attachments, 2 profiles, 1 key


def test_a_replan_reading_back_the_roles_own_inline_and_managed_policies_passes(judge: Any) -> None:
    plan = clean_plan()
    job_role = resource(plan, f"{JOB}.aws_iam_role.job")["change"]
    job_role["after"]["inline_policy"] = [
        {"name": "job", "policy": resource(plan, f"{JOB}.aws_iam_role_policy.job[0]")["change"]["after"]["policy"]}
    ]
    job_role["after_unknown"] = {}
    spot = resource(plan, 'module.compute["spot"].aws_iam_role.instance[0]')["change"]
    spot["after"]["managed_policy_arns"] = ["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]
    assert judge(plan).findings == ()


def test_deleted_and_non_iam_resources_are_not_judged(judge: Any) -> None:
    plan = clean_plan()
    gone = change(f"{JOB}.aws_iam_role_policy.old", "aws_iam_role_policy", {})
    gone["change"].update(actions=["delete"], after=None)
    plan["resource_changes"] += [
        gone,
        change('module.repository["x"].aws_ecr_lifecycle_policy.this', "aws_ecr_lifecycle_policy", {"policy": "{}"}),
    ]
    assert judge(plan).findings == ()


def test_a_fair_share_scheduling_policy_grants_nothing(judge: Any) -> None:
    plan = clean_plan()
    weights = {"fair_share_policy": [{"share_distribution": [{"share_identifier": "a", "weight_factor": 1}]}]}
    plan["resource_changes"].append(
        change('module.queue["shared"].aws_batch_scheduling_policy.this[0]', "aws_batch_scheduling_policy", weights)
    )
    assert judge(plan).findings == ()


def test_the_shared_root_pull_policy_of_the_spec_passes(tmp_path: Path) -> None:
    platform = spec_from(base(), tmp_path).platform
    expected = expected_shared(platform)
    pull: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CrossAccountPull",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Principal": {"AWS": ["arn:aws:iam::111111111111:root", "333333333333"]},
            }
        ],
    }
    address = 'module.repository["ingest"].aws_ecr_repository_policy.this[0]'
    plan = {
        "resource_changes": [
            change(address, "aws_ecr_repository_policy", {"repository": "acme/ingest", "policy": json.dumps(pull)})
        ]
    }
    assert compare(plan, "shared", expected, "aws", lambda a: ("registry", None)).findings == ()
    pull["Statement"][0]["Principal"] = {"AWS": "*"}
    plan["resource_changes"][0]["change"]["after"]["policy"] = json.dumps(pull)
    findings = compare(plan, "shared", expected, "aws", lambda a: ("registry", None)).findings
    assert [(f.id, f.spec_path) for f in findings] == [("BP-PLAN-003", "registry")]


# --- IAM glob containment ------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "planned", "covered"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("s3:GetObject", "s3:Get*", False),
        ("s3:Get*", "s3:GetObject", True),
        ("s3:Get*", "s3:Get*Acl", True),
        ("arn:aws:s3:::a/*", "arn:aws:s3:::a/*", True),
        ("arn:aws:s3:::a/b", "arn:aws:s3:::a/*", False),
        ("arn:aws:s3:::a/*", "arn:aws:s3:::a/b", True),
        ("arn:aws:s3:::a/*", "arn:aws:s3:::*/*", False),
        ("arn:aws:s3:::a/?", "arn:aws:s3:::a/*", False),
        ("arn:aws:s3:::a/*", "arn:aws:s3:::a/?", True),
        ("x-??????", "x-abc123", True),
        ("*", "anything*at?all", True),
    ],
)
def test_containment_follows_iam_glob_semantics(expected: str, planned: str, covered: bool) -> None:
    assert covers(expected, planned) is covered


# --- extra grants ---------------------------------------------------------------


def set_job_policy(plan: dict[str, Any], statements: list[dict[str, Any]]) -> None:
    after = resource(plan, f"{JOB}.aws_iam_role_policy.job[0]")["change"]["after"]
    after["policy"] = json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::bucket/in/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::bucket/in/x"},
    ],
    ids=["star", "action-glob", "any-bucket", "passrole", "not-action", "not-resource"],
)
def test_a_grant_the_spec_does_not_produce_is_critical_at_the_job(judge: Any, statement: dict[str, Any]) -> None:
    plan = clean_plan()
    set_job_policy(plan, [statement])
    findings = judge(plan).findings
    assert [(f.id, f.address, f.spec_path, f.severity) for f in findings] == [
        ("BP-PLAN-002", f"{JOB}.aws_iam_role_policy.job[0]", "jobs.ingest", "critical")
    ]


def test_a_deny_statement_only_narrows(judge: Any) -> None:
    plan = clean_plan()
    set_job_policy(plan, [{"Effect": "Deny", "Action": "*", "Resource": "*"}])
    assert judge(plan).findings == ()


def test_a_role_policy_the_spec_does_not_produce_is_an_extra_resource(judge: Any) -> None:
    plan = clean_plan()
    plan["resource_changes"].append(
        change(f"{JOB}.aws_iam_role_policy.everything", "aws_iam_role_policy", {"policy": json.dumps(ADMIN)})
    )
    findings = judge(plan).findings
    assert [(f.id, f.address, f.spec_path) for f in findings] == [
        ("BP-PLAN-001", f"{JOB}.aws_iam_role_policy.everything", "jobs.ingest")
    ]


def test_a_merged_source_document_is_refused(judge: Any) -> None:
    plan = clean_plan()
    data = resource(plan, f"{JOB}.data.aws_iam_policy_document.execution")["change"]
    data["after"]["source_policy_documents"] = [json.dumps(ADMIN)]
    findings = judge(plan).findings
    assert ids(judge(plan)) == {("BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")}
    assert "source_policy_documents" in findings[0].message


def test_an_extra_action_beside_an_after_apply_arn_is_refused(judge: Any) -> None:
    plan = clean_plan()
    data = resource(plan, f"{JOB}.data.aws_iam_policy_document.execution")["change"]
    data["after"]["statement"][2]["actions"].append("logs:*")
    data["after_unknown"]["statement"][2]["actions"].append(False)
    assert ids(judge(plan)) == {("BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")}


def test_an_inline_policy_block_on_a_role_is_refused(judge: Any) -> None:
    plan = clean_plan()
    job_role = resource(plan, f"{JOB}.aws_iam_role.job")["change"]
    job_role["after"]["inline_policy"] = [{"name": "admin", "policy": json.dumps(ADMIN)}]
    assert ids(judge(plan)) == {("BP-PLAN-004", f"{JOB}.aws_iam_role.job")}


def test_an_inline_policy_named_like_the_spec_is_judged_by_its_content(judge: Any) -> None:
    plan = clean_plan()
    job_role = resource(plan, f"{JOB}.aws_iam_role.job")["change"]
    job_role["after"]["inline_policy"] = [{"name": "job", "policy": json.dumps(ADMIN)}]
    assert ids(judge(plan)) == {("BP-PLAN-002", f"{JOB}.aws_iam_role.job")}


def test_managed_policy_arns_on_a_role_are_refused(judge: Any) -> None:
    plan = clean_plan()
    resource(plan, f"{JOB}.aws_iam_role.job")["change"]["after"]["managed_policy_arns"] = [POWER_USER]
    findings = judge(plan).findings
    assert ids(judge(plan)) == {("BP-PLAN-004", f"{JOB}.aws_iam_role.job")}
    assert POWER_USER in findings[0].message


def test_an_attachment_of_another_managed_policy_is_refused(judge: Any) -> None:
    plan = clean_plan()
    address = 'module.compute["spot"].aws_iam_role_policy_attachment.instance[0]'
    resource(plan, address)["change"]["after"]["policy_arn"] = POWER_USER
    findings = judge(plan).findings
    assert [(f.id, f.spec_path) for f in findings] == [("BP-PLAN-004", "compute.spot")]


def test_a_new_attachment_is_an_extra_resource(judge: Any) -> None:
    plan = clean_plan()
    plan["resource_changes"].append(
        change(
            "aws_iam_role_policy_attachment.power",
            "aws_iam_role_policy_attachment",
            {"role": "acme-dev-ingest-job", "policy_arn": POWER_USER},
        )
    )
    findings = judge(plan).findings
    assert [(f.id, f.address, f.spec_path) for f in findings] == [
        ("BP-PLAN-001", "aws_iam_role_policy_attachment.power", "environments.dev")
    ]


def test_a_foreign_principal_in_a_trust_policy_is_refused(judge: Any) -> None:
    plan = clean_plan()
    foreign: dict[str, Any] = copy.deepcopy(TASKS_TRUST)
    foreign["Statement"].append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    )
    resource(plan, f"{JOB}.aws_iam_role.job")["change"]["after"]["assume_role_policy"] = json.dumps(foreign)
    findings = judge(plan).findings
    assert ids(judge(plan)) == {("BP-PLAN-003", f"{JOB}.aws_iam_role.job")}
    assert "999999999999" in findings[0].message


def test_a_trust_policy_without_the_source_account_guard_is_refused(judge: Any) -> None:
    plan = clean_plan()
    loose = trust("ecs-tasks.amazonaws.com", condition=False)
    resource(plan, f"{JOB}.aws_iam_role.execution")["change"]["after"]["assume_role_policy"] = json.dumps(loose)
    assert ids(judge(plan)) == {("BP-PLAN-003", f"{JOB}.aws_iam_role.execution")}


def test_a_key_policy_open_to_everyone_is_refused(judge: Any) -> None:
    plan = clean_plan()
    key = resource(plan, "module.logs_key.aws_kms_key.this")["change"]["after"]
    policy = json.loads(key["policy"])
    policy["Statement"].append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Principal": "*"})
    key["policy"] = json.dumps(policy)
    findings = judge(plan).findings
    assert [(f.id, f.spec_path) for f in findings] == [("BP-PLAN-003", "environments.dev")]


@pytest.mark.parametrize(
    ("kind", "attribute"),
    [
        ("aws_sqs_queue_policy", "policy"),
        ("aws_s3_bucket_policy", "policy"),
        ("aws_lambda_permission", "principal"),
        ("aws_iam_user", "name"),
        ("aws_iam_access_key", "user"),
        ("aws_made_up_thing", "policy"),
    ],
)
def test_an_iam_bearing_resource_the_spec_does_not_produce_is_refused(judge: Any, kind: str, attribute: str) -> None:
    plan = clean_plan()
    plan["resource_changes"].append(change(f"{JOB}.{kind}.x", kind, {attribute: "*"}))
    assert ids(judge(plan)) == {("BP-PLAN-001", f"{JOB}.{kind}.x")}


def test_a_policy_targeting_another_role_is_refused(judge: Any) -> None:
    plan = clean_plan()
    policy = resource(plan, f"{JOB}.aws_iam_role_policy.job[0]")["change"]
    policy["after"]["role"] = "some-admin-role"
    policy["after_unknown"].pop("role")
    assert ids(judge(plan)) == {("BP-PLAN-006", f"{JOB}.aws_iam_role_policy.job[0]")}


# --- unknown values fail --------------------------------------------------------


def test_an_unknown_action_fails(judge: Any) -> None:
    plan = clean_plan()
    data = resource(plan, f"{JOB}.data.aws_iam_policy_document.execution")["change"]
    data["after"]["statement"][0]["actions"] = [None]
    data["after_unknown"]["statement"][0]["actions"] = [True]
    findings = judge(plan).findings
    assert ids(judge(plan)) == {("BP-PLAN-005", f"{JOB}.aws_iam_role_policy.execution")}
    assert "actions unknown" in findings[0].message


def test_an_unknown_trust_principal_fails(judge: Any) -> None:
    plan = clean_plan()
    job_role = resource(plan, f"{JOB}.aws_iam_role.job")["change"]
    del job_role["after"]["assume_role_policy"]
    job_role["after_unknown"]["assume_role_policy"] = True
    assert ids(judge(plan)) == {("BP-PLAN-005", f"{JOB}.aws_iam_role.job")}


def test_an_unknown_policy_not_built_from_the_expected_document_fails(judge: Any) -> None:
    plan = clean_plan()
    job_config = plan["configuration"]["root_module"]["module_calls"]["job"]["module"]["resources"]
    job_config[1]["expressions"]["policy"] = references(
        "aws_cloudwatch_log_group.this.arn", "aws_cloudwatch_log_group.this"
    )
    assert ids(judge(plan)) == {("BP-PLAN-005", f"{JOB}.aws_iam_role_policy.execution")}


def test_an_unknown_role_that_is_not_the_expected_one_fails(judge: Any) -> None:
    plan = clean_plan()
    job_config = plan["configuration"]["root_module"]["module_calls"]["job"]["module"]["resources"]
    job_config[0]["expressions"]["role"] = references("aws_iam_role.execution.id", "aws_iam_role.execution")
    assert ids(judge(plan)) == {("BP-PLAN-005", f"{JOB}.aws_iam_role_policy.job[0]")}


def test_an_unknown_resource_where_the_spec_has_a_known_one_fails(judge: Any) -> None:
    plan = clean_plan()
    data = resource(plan, f"{JOB}.data.aws_iam_policy_document.execution")["change"]
    data["after"]["statement"][0]["resources"] = [None]
    data["after_unknown"]["statement"][0]["resources"] = [True]
    assert ids(judge(plan)) == {("BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")}


def test_unknown_inline_policies_fail_when_the_configuration_sets_them(judge: Any) -> None:
    plan = clean_plan()
    job_config = plan["configuration"]["root_module"]["module_calls"]["job"]["module"]["resources"]
    job_config[2]["expressions"]["inline_policy"] = [{"policy": references("aws_cloudwatch_log_group.this.arn")}]
    assert ids(judge(plan)) == {("BP-PLAN-005", f"{JOB}.aws_iam_role.job")}


def test_a_file_that_is_not_a_plan_is_a_finding(tmp_path: Path) -> None:
    spec = spec_from(base(), tmp_path)
    plan = tmp_path / "plan.json"
    plan.write_text("[1, 2]", encoding="utf-8")
    outcome = check_plan(spec, "dev", plan)
    assert [(f.id, f.severity) for f in outcome.findings] == [("BP-PLAN-007", "critical")]


# --- the schedule's key -------------------------------------------------------

KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0b5e1c9e-0000-4000-8000-000000000001"
SCHEDULE_KEY = f"{JOB}.aws_iam_role_policy.schedule_key[0]"


def schedule_key_plan() -> dict[str, Any]:
    """A re-plan (the key exists) that changes the schedule role's key policy."""
    key = copy.deepcopy(resource(clean_plan(), "module.logs_key.aws_kms_key.this"))
    key["change"]["after"]["arn"] = KEY_ARN
    key["change"]["after_unknown"] = {}
    return {
        "resource_changes": [
            key,
            change(SCHEDULE_KEY, "aws_iam_role_policy", {"name": "schedule-key", "role": "acme-dev-ingest-sched"}),
        ]
    }


@pytest.fixture
def scheduled(tmp_path: Path) -> Any:
    document = base()
    document["jobs"]["ingest"]["schedule"] = "rate(1 hour)"
    spec = spec_from(document, tmp_path)

    def run(plan: dict[str, Any], key_arn: str | None) -> Outcome:
        expected = expected_env(spec.env("dev"), "dev", ImageLock(), key_arn=key_arn)
        return compare(plan, "dev", expected, "aws", lambda address: ("jobs.ingest", None))

    return run


def _with_policy(plan: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    resource(plan, SCHEDULE_KEY)["change"]["after"]["policy"] = json.dumps(policy)
    return plan


def test_the_schedule_role_may_decrypt_with_the_environments_own_key(scheduled: Any) -> None:
    plan = _with_policy(schedule_key_plan(), _decrypt(KEY_ARN))
    assert scheduled(plan, KEY_ARN).findings == ()


def test_the_schedule_role_may_not_decrypt_with_another_key(scheduled: Any) -> None:
    other = KEY_ARN.replace("0001", "0002")
    plan = _with_policy(schedule_key_plan(), _decrypt(other))
    assert ("BP-PLAN-002", SCHEDULE_KEY) in ids(scheduled(plan, KEY_ARN))


def test_the_schedule_role_may_not_decrypt_with_every_key(scheduled: Any) -> None:
    every = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*"
    plan = _with_policy(schedule_key_plan(), _decrypt(every))
    assert ("BP-PLAN-002", SCHEDULE_KEY) in ids(scheduled(plan, KEY_ARN))


def _decrypt(arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DecryptScheduleInput", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": arn}],
    }

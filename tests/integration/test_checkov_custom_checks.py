"""Each custom check on its fixtures, the Checkov way: exact sets of passing and failing addresses.

Both inputs: the HCL of policies/fixtures/<ID>/main.tf and the plan JSON of
policies/fixtures/<ID>/tfplan.json (values arrive differently in the two).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchplane.policy.checkov.runtime import CHECKS_DIR, expected_custom_ids, load_custom_checks, prepare_environment
from tests.conftest import REPO

FIXTURES = REPO / "policies" / "fixtures"

EXPECTED_HCL: dict[str, tuple[set[str], set[str]]] = {
    "CKV_BP_1": (
        {
            "aws_iam_policy_document.pass_dynamic_literal_actions",
            "aws_iam_policy_document.pass_list_action_on_every_group",
            "aws_iam_policy_document.pass_object_prefix_in_one_bucket",
            "aws_iam_policy_document.pass_passrole_one_role",
            "aws_iam_policy_document.pass_reference_resources",
            "aws_iam_policy_document.pass_run_instances_on_new_instances_only",
            "aws_iam_policy_document.pass_scoped",
            "aws_iam_policy_document.pass_trust_policy",
        },
        {
            "aws_iam_policy_document.fail_action_built_by_base64decode",
            "aws_iam_policy_document.fail_action_built_by_join",
            "aws_iam_policy_document.fail_action_from_try",
            "aws_iam_policy_document.fail_action_from_unresolved_variable",
            "aws_iam_policy_document.fail_dynamic_unresolved",
            "aws_iam_policy_document.fail_get_object_every_bucket",
            "aws_iam_policy_document.fail_not_actions",
            "aws_iam_policy_document.fail_not_resources",
            "aws_iam_policy_document.fail_override_policy_documents",
            "aws_iam_policy_document.fail_passrole_every_role",
            "aws_iam_policy_document.fail_passrole_star",
            "aws_iam_policy_document.fail_read_actions_every_secret",
            "aws_iam_policy_document.fail_resource_from_function",
            "aws_iam_policy_document.fail_run_instances_every_resource",
            "aws_iam_policy_document.fail_service_wildcard",
            "aws_iam_policy_document.fail_source_policy_documents",
            "aws_iam_policy_document.fail_wildcard_action",
        },
    ),
    "CKV_BP_2": (
        {
            "aws_iam_policy.pass_deny_star",
            "aws_iam_role.pass_role_inline_policy_scoped",
            "aws_iam_role.pass_role_without_inline_policy",
            "aws_iam_role_policy.pass_document_reference",
            "aws_iam_role_policy.pass_literal_json",
        },
        {
            "aws_iam_policy.fail_get_object_every_bucket",
            "aws_iam_policy.fail_not_action",
            "aws_iam_policy.fail_not_resource",
            "aws_iam_role.fail_job_role_inline_policy",
            "aws_iam_role.fail_role_inline_policy_wildcard",
            "aws_iam_role_policy.fail_action_built_by_format",
            "aws_iam_role_policy.fail_passrole_every_role",
            "aws_iam_role_policy.fail_passrole_on_unresolved",
            "aws_iam_role_policy.fail_wildcard_action",
        },
    ),
    "CKV_BP_3": (
        {
            "aws_batch_compute_environment.pass_on_demand_best_fit",
            "aws_batch_compute_environment.pass_spot_price_capacity_optimized",
            "aws_batch_compute_environment.pass_unmanaged",
        },
        {
            "aws_batch_compute_environment.fail_spot_best_fit",
            "aws_batch_compute_environment.fail_spot_default_strategy",
        },
    ),
    "CKV_BP_4": (
        {
            "aws_iam_policy_document.pass_ec2_without_guard",
            "aws_iam_policy_document.pass_ecs_tasks",
            "aws_iam_policy_document.pass_key_policy",
            "aws_iam_policy_document.pass_not_a_trust_policy",
            "aws_iam_role.pass_role_document_reference",
            "aws_iam_role.pass_role_jsonencode_guarded_service",
        },
        {
            "aws_iam_policy_document.fail_any_aws_principal",
            "aws_iam_policy_document.fail_dynamic_trust_statement",
            "aws_iam_policy_document.fail_guard_if_exists",
            "aws_iam_policy_document.fail_service_without_source_guard",
            "aws_iam_policy_document.fail_unexpected_service",
            "aws_iam_policy_document.fail_unresolved_principal",
            "aws_iam_policy_document.fail_wildcard_action_foreign_account",
            "aws_iam_role.fail_role_heredoc_principal_star",
            "aws_iam_role.fail_role_jsonencode_foreign_account",
            "aws_iam_role.fail_role_literal_federated",
            "aws_iam_role.fail_role_principal_from_variable",
            "aws_iam_role.fail_role_service_without_source_guard",
        },
    ),
    "CKV_BP_5": (
        {
            "aws_batch_job_definition.pass_distinct_literal_arns",
            "aws_batch_job_definition.pass_eks_service_account",
            "aws_batch_job_definition.pass_module_shape",
            "aws_batch_job_definition.pass_multinode_separate_roles",
            "aws_batch_job_definition.pass_no_job_role",
            "aws_batch_job_definition.pass_separate_roles",
        },
        {
            "aws_batch_job_definition.fail_ecs_task_role_is_execution_role",
            "aws_batch_job_definition.fail_literal_next_to_reference",
            "aws_batch_job_definition.fail_same_literal_arn",
            "aws_batch_job_definition.fail_same_reference",
            "aws_batch_job_definition.fail_unresolved_document",
        },
    ),
    "CKV_BP_6": (
        {
            "aws_iam_policy_document.pass_not_an_execution_document",
            "aws_iam_role.pass_execution_role_without_policies",
            "aws_iam_role_policy.pass_execution_document_reference",
            "aws_iam_role_policy.pass_literal_execution_grants",
            "aws_iam_role_policy.pass_not_an_execution_policy",
            "aws_iam_role_policy_attachment.pass_attachment_to_another_role",
            "module.pass_module_job_shape.aws_iam_policy_document.execution",
        },
        {
            "aws_iam_policy_attachment.fail_policy_attachment_to_execution_role",
            "aws_iam_role.fail_execution_role_inline_policy",
            "aws_iam_role.fail_execution_role_managed_policy_arns",
            "aws_iam_role_policy.fail_extra_action",
            "aws_iam_role_policy.fail_not_action",
            "aws_iam_role_policy.fail_other_document",
            "aws_iam_role_policy.fail_resource_built_by_function",
            "aws_iam_role_policy.fail_secrets_on_every_resource",
            "aws_iam_role_policy.fail_secrets_on_every_secret",
            "aws_iam_role_policy.fail_unresolved_action",
            "aws_iam_role_policy.fail_wildcard_on_execution_role",
            "aws_iam_role_policy_attachment.fail_attachment_to_execution_role",
            "module.fail_document_actions_from_items.aws_iam_policy_document.execution",
            "module.fail_document_extra_action.aws_iam_policy_document.execution",
            "module.fail_document_logs_on_every_resource.aws_iam_policy_document.execution",
            "module.fail_document_merged.aws_iam_policy_document.execution",
        },
    ),
    "CKV_BP_7": (
        {
            "aws_iam_role.pass_role_without_managed_policies",
            "aws_iam_role_policy_attachment.pass_instance_role_ecs_policy",
            "aws_iam_role_policy_attachment.pass_own_policy",
        },
        {
            "aws_iam_group_policy_attachment.fail_other_aws_managed",
            "aws_iam_policy_attachment.fail_iam_full_access",
            "aws_iam_role.fail_managed_policy_arns_power_user",
            "aws_iam_role_policy_attachment.fail_administrator_access",
            "aws_iam_role_policy_attachment.fail_allowed_policy_on_job_role",
            "aws_iam_role_policy_attachment.fail_arn_built_by_function",
            "aws_iam_role_policy_attachment.fail_arn_from_variable",
            "aws_iam_role_policy_attachment.fail_customer_managed_literal",
            "aws_iam_role_policy_attachments_exclusive.fail_exclusive_power_user",
            "aws_iam_user_policy_attachment.fail_service_full_access",
        },
    ),
    "CKV2_BP_1": (
        {
            "aws_batch_job_definition.pass_with_timeout",
        },
        {
            "aws_batch_job_definition.fail_without_timeout",
        },
    ),
}

EXPECTED_PLAN: dict[str, tuple[set[str], set[str]]] = {
    "CKV_BP_1": (
        {
            "data.aws_iam_policy_document.pass_object_prefix_in_one_bucket",
            "data.aws_iam_policy_document.pass_scoped",
        },
        {
            "data.aws_iam_policy_document.fail_get_object_every_bucket",
            "data.aws_iam_policy_document.fail_not_actions",
            "data.aws_iam_policy_document.fail_passrole_every_role",
            "data.aws_iam_policy_document.fail_run_instances_every_resource",
            "data.aws_iam_policy_document.fail_source_policy_documents",
            "data.aws_iam_policy_document.fail_wildcard_action",
        },
    ),
    "CKV_BP_2": (
        {
            "aws_iam_policy.pass_deny_star",
            "aws_iam_role.pass_job_role_holding_its_policy",
            "aws_iam_role_policy.pass_scoped",
        },
        {
            "aws_iam_role.fail_role_inline_policy_wildcard",
            "aws_iam_role_policy.fail_get_object_every_bucket",
            "aws_iam_role_policy.fail_passrole_every_role",
            "aws_iam_role_policy.fail_passrole_star",
            "aws_iam_role_policy.fail_wildcard_action",
        },
    ),
    "CKV_BP_3": (
        {
            "aws_batch_compute_environment.pass_fargate",
            "aws_batch_compute_environment.pass_spot_capacity_optimized",
        },
        {
            "aws_batch_compute_environment.fail_spot_best_fit_progressive",
        },
    ),
    "CKV_BP_4": (
        {
            "aws_iam_role.pass_role_ec2_instances",
            "aws_iam_role.pass_role_guarded_service",
            "data.aws_iam_policy_document.pass_ecs_tasks",
        },
        {
            "aws_iam_role.fail_role_foreign_account",
            "aws_iam_role.fail_role_principal_star",
            "data.aws_iam_policy_document.fail_any_aws_principal",
            "data.aws_iam_policy_document.fail_service_without_source_guard",
        },
    ),
    "CKV_BP_5": (
        {
            "aws_batch_job_definition.pass_no_job_role",
            "aws_batch_job_definition.pass_separate_roles",
            "aws_batch_job_definition.pass_update_with_empty_properties",
        },
        {
            "aws_batch_job_definition.fail_multinode_same_role",
            "aws_batch_job_definition.fail_same_role",
            "aws_batch_job_definition.fail_unknown_until_apply",
        },
    ),
    "CKV_BP_6": (
        {
            "aws_iam_role.pass_execution_role_holding_its_policy",
            "aws_iam_role_policy.pass_execution_grants",
            "aws_iam_role_policy.pass_not_an_execution_policy",
            "aws_iam_role_policy_attachment.pass_attachment_to_another_role",
            "module.pass_module_job_shape.aws_iam_role_policy.execution",
            "module.pass_module_job_shape.data.aws_iam_policy_document.execution",
        },
        {
            "aws_iam_role.fail_execution_role_extra_inline_policy",
            "aws_iam_role_policy.fail_extra_action",
            "aws_iam_role_policy.fail_secrets_on_every_secret",
            "aws_iam_role_policy.fail_wildcard_on_execution_role",
            "aws_iam_role_policy_attachment.fail_attachment_to_execution_role",
            "module.fail_document_extra_action.data.aws_iam_policy_document.execution",
        },
    ),
    "CKV_BP_7": (
        {
            "aws_iam_role.pass_instance_role_holding_its_policy",
            "aws_iam_role_policy_attachment.pass_instance_role_ecs_policy",
        },
        {
            "aws_iam_policy_attachment.fail_iam_full_access",
            "aws_iam_role.fail_managed_policy_arns_power_user",
            "aws_iam_role_policy_attachment.fail_administrator_access",
            "aws_iam_role_policy_attachment.fail_allowed_policy_on_job_role",
            "aws_iam_role_policy_attachments_exclusive.fail_exclusive_power_user",
        },
    ),
    "CKV2_BP_1": (
        {
            "aws_batch_job_definition.pass_with_timeout",
        },
        {
            "aws_batch_job_definition.fail_without_timeout",
        },
    ),
}


@pytest.fixture(scope="module", autouse=True)
def _custom_checks() -> None:
    prepare_environment()
    load_custom_checks(REPO / CHECKS_DIR)


def _addresses(report: Any) -> tuple[set[str], set[str]]:
    reports = report if isinstance(report, list) else [report]
    passed = {r.resource for single in reports for r in single.passed_checks}
    failed = {r.resource for single in reports for r in single.failed_checks}
    return passed, failed


def test_every_custom_check_has_fixtures_on_both_inputs() -> None:
    ids = expected_custom_ids(REPO / CHECKS_DIR)
    assert ids == set(EXPECTED_HCL) == set(EXPECTED_PLAN)


@pytest.mark.parametrize("check_id", sorted(EXPECTED_HCL))
def test_check_on_hcl(check_id: str) -> None:
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.runner import Runner

    report = Runner().run(
        root_folder=str(FIXTURES / check_id), runner_filter=RunnerFilter(framework=["terraform"], checks=[check_id])
    )
    assert _addresses(report) == EXPECTED_HCL[check_id]


@pytest.mark.parametrize("check_id", sorted(EXPECTED_PLAN))
def test_check_on_plan_json(check_id: str) -> None:
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.plan_runner import Runner

    plan = Path(FIXTURES / check_id / "tfplan.json")
    report = Runner().run(
        root_folder=None, files=[str(plan)], runner_filter=RunnerFilter(framework=["terraform_plan"], checks=[check_id])
    )
    assert _addresses(report) == EXPECTED_PLAN[check_id]

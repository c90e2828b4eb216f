"""CKV_BP_2: inline and standalone IAM policies grant nothing broad, and can be evaluated.

Judged like CKV_BP_1 (wildcard actions, actions on every resource of their
type, NotAction / NotResource, unevaluable actions or resources): the
``policy`` of role, user and group policies and of ``aws_iam_policy``, and
every ``inline_policy`` block of an ``aws_iam_role``. A policy that is neither
a reference to an aws_iam_policy_document (judged by CKV_BP_1) nor an
evaluable document fails. A job's role or execution role (as ``modules/job``
names them) carries no ``inline_policy`` at all: its grants are the spec's,
written as ``aws_iam_role_policy``. (In a plan, ``inline_policy`` mirrors every
policy a role holds, so there only its content is judged.)
"""

from __future__ import annotations

from typing import Any

from batchplane_iam import as_list, document_reference, is_job_role, present, problems_of_document, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class IamInlinePolicyLeastPrivilege(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM policies grant no wildcard action and nothing on every resource (and can be evaluated)",
            id="CKV_BP_2",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "aws_iam_role_policy",
                "aws_iam_policy",
                "aws_iam_user_policy",
                "aws_iam_group_policy",
                "aws_iam_role",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if self.entity_type == "aws_iam_role":
            problems = _problems_of_role(conf)
        else:
            problems = _problems_of_policy(unwrap(conf.get("policy")))
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _problems_of_policy(policy: Any) -> list[str]:
    if document_reference(policy):
        return []
    return problems_of_document(policy)


def _problems_of_role(conf: dict[str, list[Any]]) -> list[str]:
    blocks = [b for b in as_list(conf.get("inline_policy")) if isinstance(b, dict) and present(b.get("policy"))]
    if any(not isinstance(b, dict) for b in as_list(conf.get("inline_policy"))):
        return ["inline_policy cannot be evaluated"]
    # In a plan, inline_policy mirrors every policy the role holds (aws_iam_role_policy "job"
    # included): only the content is judged there.
    in_plan = "__change_actions__" in conf
    if blocks and not in_plan and is_job_role(unwrap(conf.get("name")), conf.get("__address__")):
        return ["a job or execution role carries an inline_policy (its grants must be the spec's)"]
    problems: list[str] = []
    for block in blocks:
        name = unwrap(block.get("name"))
        problems += [f"inline_policy {name!r}: {p}" for p in _problems_of_policy(unwrap(block.get("policy")))]
    return problems


check = IamInlinePolicyLeastPrivilege()

"""CKV_BP_2: inline and managed IAM policies grant no wildcard action and no iam:PassRole on *.

A policy that is neither a reference to an aws_iam_policy_document (judged by
CKV_BP_1) nor an evaluable document fails.
"""

from __future__ import annotations

from typing import Any

from batchplane_iam import REFERENCE_PREFIXES, problems_of_document, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class IamInlinePolicyLeastPrivilege(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM policies grant no wildcard actions and no iam:PassRole on * (and can be evaluated)",
            id="CKV_BP_2",
            categories=[CheckCategories.IAM],
            supported_resources=[
                "aws_iam_role_policy",
                "aws_iam_policy",
                "aws_iam_user_policy",
                "aws_iam_group_policy",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        policy = unwrap(conf.get("policy"))
        if isinstance(policy, str) and policy.startswith(REFERENCE_PREFIXES) and policy.rstrip("}").endswith(".json"):
            return CheckResult.PASSED
        problems = problems_of_document(policy)
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


check = IamInlinePolicyLeastPrivilege()

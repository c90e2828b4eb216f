"""CKV_BP_4: trust policies let only the expected AWS service principals assume a role.

Checkov's CKV_AWS_60 passes the string form ``Principal = "*"``; here anything
but a known service principal fails, and so does one that cannot be resolved.
"""

from __future__ import annotations

from typing import Any

from batchplane_iam import as_list, unresolved, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck

# The services batchplane's roles are for: job containers, schedules, S3 triggers,
# EC2 instances of compute environments, VPC flow logs.
EXPECTED_SERVICES = frozenset(
    {
        "ecs-tasks.amazonaws.com",
        "scheduler.amazonaws.com",
        "events.amazonaws.com",
        "ec2.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
    }
)


class TrustPolicyServicePrincipals(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Trust policies let only the expected AWS service principals assume the role",
            id="CKV_BP_4",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        problems: list[str] = []
        for statement in as_list(conf.get("statement")):
            if not isinstance(statement, dict) or str(unwrap(statement.get("effect")) or "Allow") == "Deny":
                continue
            actions = [str(a) for a in as_list(statement.get("actions"))]
            if not any(a.lower().startswith("sts:assumerole") for a in actions):
                continue  # not a trust statement
            if as_list(statement.get("not_principals")):
                problems.append("NotPrincipal trusts everyone else")
            principals = [p for p in as_list(statement.get("principals")) if isinstance(p, dict)]
            if not principals:
                problems.append("a trust statement without principals")
            for principal in principals:
                kind = unwrap(principal.get("type"))
                for identifier in as_list(principal.get("identifiers")):
                    if kind != "Service" or unresolved(identifier) or identifier not in EXPECTED_SERVICES:
                        problems.append(f"{kind} principal {identifier!r} is not an expected service")
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


check = TrustPolicyServicePrincipals()

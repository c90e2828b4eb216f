"""CKV_BP_1: aws_iam_policy_document data sources grant no wildcard action and no iam:PassRole on *."""

from __future__ import annotations

from typing import Any

from batchplane_iam import as_list, problems_of_statement, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck


class IamPolicyDocumentLeastPrivilege(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM policy documents grant no wildcard actions and no iam:PassRole on * (and can be evaluated)",
            id="CKV_BP_1",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if unwrap(conf.get("count")) == 0:
            return CheckResult.PASSED  # not rendered at all
        problems: list[str] = []
        judged = 0
        for statement in as_list(conf.get("statement")):
            if isinstance(statement, dict) and not _resource_policy(statement):
                judged += 1
                problems += problems_of_statement(
                    statement.get("effect"), statement.get("actions"), statement.get("resources")
                )
        for dynamic in as_list(conf.get("dynamic")):
            block = unwrap(dynamic).get("statement") if isinstance(unwrap(dynamic), dict) else None
            if not isinstance(block, dict):
                continue
            content = unwrap(block.get("content"))
            content = content if isinstance(content, dict) else {}
            if _resource_policy(content):
                continue
            if not any(_from_item(content.get(key)) for key in ("effect", "actions")):
                # Literal actions: resources from the items are references, judged as unresolved.
                judged += 1
                problems += problems_of_statement(
                    content.get("effect"), content.get("actions"), content.get("resources")
                )
                continue
            items = as_list(block.get("for_each"))
            if any(not isinstance(item, dict) for item in items):
                problems.append("dynamic statements cannot be evaluated (their for_each is unresolved)")
                continue
            judged += len(items)
            for item in items:
                values = {
                    key: item.get(key) if _from_item(content.get(key)) else content.get(key)
                    for key in ("effect", "actions", "resources")
                }
                problems += problems_of_statement(values["effect"], values["actions"], values["resources"])
        if not judged and not any(_resource_policy(s) for s in as_list(conf.get("statement")) if isinstance(s, dict)):
            problems.append("no statement could be evaluated")
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _from_item(value: Any) -> bool:
    """Whether a dynamic block's attribute takes its value from the for_each item."""
    return isinstance(unwrap(value), str) and "statement.value" in str(unwrap(value))


def _resource_policy(statement: dict[str, Any]) -> bool:
    """Trust and key policies name principals: they are not identity grants."""
    return bool(as_list(statement.get("principals")) or as_list(statement.get("not_principals")))


check = IamPolicyDocumentLeastPrivilege()

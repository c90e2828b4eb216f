"""CKV_BP_1: aws_iam_policy_document data sources grant nothing broad, and can be evaluated.

Fails a statement with a wildcard action, an action on every resource of its
type (``iam:PassRole`` on ``*`` or ``role/*``, ``s3:GetObject`` on
``arn:aws:s3:::*/*``), ``not_actions`` / ``not_resources``, or actions and
resources Checkov could not evaluate. A document that merges others
(``source_policy_documents``, ``override_policy_documents``) fails: what it
merges is not judged here, and batchplane's modules never merge.
"""

from __future__ import annotations

from typing import Any

from batchplane_iam import as_list, present, problems_of_statement, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck

MERGING = ("source_policy_documents", "override_policy_documents", "source_json", "override_json")
GRANTS = ("effect", "actions", "resources", "not_actions", "not_resources")


class IamPolicyDocumentLeastPrivilege(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM policy documents grant no wildcard action and nothing on every resource (and can be evaluated)",
            id="CKV_BP_1",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if unwrap(conf.get("count")) == 0:
            return CheckResult.PASSED  # not rendered at all
        problems = [f"{key} merges documents this check cannot judge" for key in MERGING if present(conf.get(key))]
        judged = 0
        for statement in as_list(conf.get("statement")):
            if isinstance(statement, dict) and not _resource_policy(statement):
                judged += 1
                problems += _problems(statement)
        for dynamic in as_list(conf.get("dynamic")):
            block = unwrap(dynamic).get("statement") if isinstance(unwrap(dynamic), dict) else None
            if not isinstance(block, dict):
                continue
            content = unwrap(block.get("content"))
            content = content if isinstance(content, dict) else {}
            if _resource_policy(content):
                continue
            if not any(_from_item(content.get(key)) for key in ("effect", "actions", "not_actions")):
                # Literal actions: resources from the items are references, judged as such.
                judged += 1
                problems += _problems(content)
                continue
            items = as_list(block.get("for_each"))
            if any(not isinstance(item, dict) for item in items):
                problems.append("dynamic statements cannot be evaluated (their for_each is unresolved)")
                continue
            judged += len(items)
            for item in items:
                problems += _problems(
                    {key: item.get(key) if _from_item(content.get(key)) else content.get(key) for key in GRANTS}
                )
        if not judged and not any(_resource_policy(s) for s in as_list(conf.get("statement")) if isinstance(s, dict)):
            problems.append("no statement could be evaluated")
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _problems(statement: dict[str, Any]) -> list[str]:
    return problems_of_statement(*(statement.get(key) for key in GRANTS))


def _from_item(value: Any) -> bool:
    """Whether a dynamic block's attribute takes its value from the for_each item."""
    return isinstance(unwrap(value), str) and "statement.value" in str(unwrap(value))


def _resource_policy(statement: dict[str, Any]) -> bool:
    """Trust and key policies name principals: they are not identity grants (CKV_BP_4 judges trust)."""
    return bool(as_list(statement.get("principals")) or as_list(statement.get("not_principals")))


check = IamPolicyDocumentLeastPrivilege()

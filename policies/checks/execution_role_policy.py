"""CKV_BP_6: an execution role may pull the image, write logs and read secrets, nothing else.

Which role is an execution role is written in a job definition's
``executionRoleArn``, inside a JSON string: no check on one resource sees that
link, and a graph check cannot follow it out of the string. So this check
relies on the names ``modules/job`` gives (its README documents them: role
``<prefix>-<name>-exec``, resource ``aws_iam_role.execution``, inline policy
``execution`` built from ``data.aws_iam_policy_document.execution``) and judges
every place where such a role's grants are written:

- ``aws_iam_role_policy`` named ``execution``, or on the execution role (a
  reference to ``aws_iam_role.execution``, or a role name ending in ``-exec``):
  a literal policy (``jsonencode``, or resolved in a plan) is judged here; a
  reference to ``data.aws_iam_policy_document.execution`` passes here because
  that document is judged on its own; any other policy fails (unjudged, it
  would be a way around this check).
- ``aws_iam_policy_document`` named ``execution``: every statement is judged;
  dynamic statements only with literal actions (the module's convention), and
  merged documents (``source_policy_documents``, ``override_policy_documents``)
  fail.
- ``aws_iam_role_policy_attachment`` or ``aws_iam_policy_attachment`` to the
  execution role: fails, a managed policy's grants cannot be judged here.
- the execution role itself (``aws_iam_role.execution`` or ``*-exec``): its
  ``inline_policy`` blocks are judged like a literal policy, and
  ``managed_policy_arns`` fail.

A grant passes when every action is one of ``ALLOWED_ACTIONS`` (exactly: no
wildcards), ``Resource: *`` comes only with ``ecr:GetAuthorizationToken``,
which has no resource type, and no resource pattern names every resource of
its type (``secret:*``). ``NotAction``, ``NotResource`` and actions or
resources that cannot be evaluated fail; ``Deny`` statements grant nothing.
Roles named otherwise are not judged here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from batchplane_iam import as_list, every_resource, present, unevaluable_action, unevaluable_resource, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

NAME = "Execution roles may only pull images, write logs and read secrets (and can be evaluated)"
ALLOWED_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameters",
        "ssm:GetParameter",
        "kms:Decrypt",
    }
)
UNSCOPED_ACTION = "ecr:GetAuthorizationToken"
NAME_OF_EXECUTION_POLICY = "execution"
EXECUTION_ROLE_SUFFIX = "-exec"

_ALLOWED = {a.lower() for a in ALLOWED_ACTIONS}
_EXECUTION_ROLE_REFERENCE = re.compile(r"(?<![\w.])aws_iam_role\.execution\b")
_EXECUTION_DOCUMENT_REFERENCE = re.compile(r"^(\$\{)?data\.aws_iam_policy_document\.execution(\[[^\]]*\])?\.json\}?$")
_EXECUTION_ROLE_ADDRESS = re.compile(r"(^|\.)aws_iam_role\.execution(\[[^\]]*\])?$")
_EXECUTION_DOCUMENT_ADDRESS = re.compile(r"(^|\.)aws_iam_policy_document\.execution(\[[^\]]*\])?$")


class ExecutionRolePolicy(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id="CKV_BP_6",  # literal in both: the adapter reads the ids from the text
            categories=[CheckCategories.IAM],
            supported_resources=[
                "aws_iam_role_policy",
                "aws_iam_role_policy_attachment",
                "aws_iam_policy_attachment",
                "aws_iam_role",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if self.entity_type == "aws_iam_role":
            return self._scan_role(conf)
        if self.entity_type == "aws_iam_policy_attachment":
            self.evaluated_keys = ["roles"]
            if not any(_is_execution_role(r) for r in as_list(conf.get("roles"))):
                return CheckResult.PASSED
            self.details = [f"managed policy {unwrap(conf.get('policy_arn'))!r} on an execution role cannot be judged"]
            return CheckResult.FAILED
        on_execution_role = _is_execution_role(unwrap(conf.get("role")))
        # What the verdict rests on (a plan writes a reference where the value is known after apply).
        self.evaluated_keys = ["role"]
        if self.entity_type == "aws_iam_role_policy_attachment":
            if not on_execution_role:
                return CheckResult.PASSED
            self.details = [f"managed policy {unwrap(conf.get('policy_arn'))!r} on an execution role cannot be judged"]
            return CheckResult.FAILED
        if unwrap(conf.get("name")) != NAME_OF_EXECUTION_POLICY and not on_execution_role:
            return CheckResult.PASSED
        self.evaluated_keys = ["policy"]
        problems = _problems_of_policy(unwrap(conf.get("policy")))
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED

    def _scan_role(self, conf: dict[str, list[Any]]) -> CheckResult:
        """An execution role's own ``inline_policy`` blocks and ``managed_policy_arns``."""
        address = conf.get("__address__")
        named = _is_execution_role(unwrap(conf.get("name")))
        if not named and not (isinstance(address, str) and _EXECUTION_ROLE_ADDRESS.search(address)):
            return CheckResult.PASSED
        self.evaluated_keys = ["inline_policy", "managed_policy_arns"]
        problems: list[str] = []
        if present(conf.get("managed_policy_arns")):
            problems.append("managed_policy_arns on an execution role cannot be judged")
        for block in as_list(conf.get("inline_policy")):
            policy = unwrap(block.get("policy")) if isinstance(block, dict) else block
            if present(policy):
                problems += [f"inline_policy: {p}" for p in _problems_of_policy(policy)]
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


class ExecutionPolicyDocument(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id="CKV_BP_6",
            categories=[CheckCategories.IAM],
            supported_data=["aws_iam_policy_document"],
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        # Checkov's full address of the block; the data source's name is its only mark.
        address = conf.get("__address__")
        if not isinstance(address, str):
            self.details = ["the document's address is unknown, so whether it is an execution policy is too"]
            return CheckResult.FAILED
        if not _EXECUTION_DOCUMENT_ADDRESS.search(address):
            return CheckResult.PASSED
        problems = _problems_of_document(conf)
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _is_execution_role(role: Any) -> bool:
    if not isinstance(role, str):
        return False
    return bool(_EXECUTION_ROLE_REFERENCE.search(role)) or role.endswith(EXECUTION_ROLE_SUFFIX)


def _problems_of_policy(policy: Any) -> list[str]:
    """Problems of an inline policy: its JSON (text or parsed), or a reference to the judged document."""
    if isinstance(policy, str):
        if _EXECUTION_DOCUMENT_REFERENCE.match(policy.strip()):
            return []  # judged as the aws_iam_policy_document itself
        try:
            policy = json.loads(policy)
        except ValueError:
            return [f"policy {policy!r} cannot be evaluated (only JSON or data.aws_iam_policy_document.execution can)"]
    if not isinstance(policy, dict):
        return ["policy cannot be evaluated"]
    statements = as_list(policy.get("Statement"))
    if not statements or not all(isinstance(s, dict) for s in statements):
        return ["policy cannot be evaluated (no statements)"]
    problems: list[str] = []
    for s in statements:
        problems += _problems_of_grant(s.get("Effect"), s.get("Action"), s.get("NotAction"), s.get("Resource"))
        if present(s.get("NotResource")):
            problems.append("NotResource grants on everything else")
    return problems


def _problems_of_document(conf: dict[str, list[Any]]) -> list[str]:
    problems = [
        f"{key} merges documents this check cannot see"
        for key in ("source_policy_documents", "override_policy_documents")
        if present(conf.get(key))
    ]
    statements = [s for s in as_list(conf.get("statement")) if isinstance(s, dict)]
    for dynamic in as_list(conf.get("dynamic")):
        block = unwrap(dynamic).get("statement") if isinstance(unwrap(dynamic), dict) else None
        if isinstance(block, dict):
            content = unwrap(block.get("content"))
            statements.append(content if isinstance(content, dict) else {})  # {} cannot be evaluated
    if not statements:
        return [*problems, "no statement could be evaluated"]
    for s in statements:
        problems += _problems_of_grant(s.get("effect"), s.get("actions"), s.get("not_actions"), s.get("resources"))
        if present(s.get("not_resources")):
            problems.append("not_resources grants on everything else")
    return problems


def _problems_of_grant(effect: Any, actions: Any, not_actions: Any, resources: Any) -> list[str]:
    if str(unwrap(effect) or "Allow") == "Deny":
        return []
    if present(not_actions):
        return ["NotAction grants everything else"]
    action_list = [a for a in as_list(actions) if a is not None]
    if not action_list or any(unevaluable_action(a) for a in action_list):
        return [f"cannot be evaluated (actions {action_list!r} are not action names)"]
    problems = [f"{a} is not image pull, logs or secret reads" for a in action_list if a.lower() not in _ALLOWED]
    resource_list = as_list(resources)
    unevaluable = [r for r in resource_list if unevaluable_resource(r)]
    if unevaluable:
        problems.append(f"resources {unevaluable!r} cannot be evaluated")
    scoped = [a for a in action_list if a.lower() != UNSCOPED_ACTION.lower()]
    if scoped and "*" in resource_list:
        problems.append(f"{', '.join(scoped)} on Resource * (only {UNSCOPED_ACTION} needs it)")
    elif scoped:
        problems += [broad for a in scoped if (broad := every_resource(a, resource_list))]
    return problems


check = ExecutionRolePolicy()
document_check = ExecutionPolicyDocument()

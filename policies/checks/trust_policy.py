"""CKV_BP_4: trust policies let only the expected AWS service principals assume a role.

Checkov's CKV_AWS_60 passes the string form ``Principal = "*"`` and no
built-in check reads ``Condition``. Here a trust statement (one whose actions
could include ``sts:AssumeRole*``, or cannot be evaluated) passes only when:

- its principals are all ``Service`` principals of ``EXPECTED_SERVICES``
  (``AWS``, ``Federated``, ``*``, ``NotPrincipal`` and anything unresolved
  fail);
- its actions are exactly ``sts:AssumeRole``;
- for every service but ``ec2.amazonaws.com`` (EC2 passes no source account
  when it assumes an instance role), it carries the confused-deputy guard
  ``modules/job`` and ``modules/network`` render: ``aws:SourceAccount`` or
  ``aws:SourceArn`` under ``StringEquals``, ``StringLike``, ``ArnEquals`` or
  ``ArnLike`` (not ``...IfExists``, which an absent key satisfies), with
  values that are not ``*``.

Judged in ``aws_iam_policy_document`` data sources (statements and dynamic
statements) and in ``aws_iam_role.assume_role_policy`` written as JSON
(``jsonencode``, a heredoc, a literal string, or resolved in a plan); a role
whose trust policy is a ``data.aws_iam_policy_document`` reference is judged
at that document; anything else cannot be evaluated and fails.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from batchplane_iam import (
    as_list,
    document_reference,
    load_document,
    statements_of,
    unevaluable_action,
    unresolved,
    unwrap,
)
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

NAME = "Trust policies let only the expected AWS service principals assume the role, for this account only"
# The services batchplane's roles are for: job containers, schedules, S3 triggers,
# EC2 instances of compute environments, VPC flow logs, pipelines' state machines.
EXPECTED_SERVICES = frozenset(
    {
        "ecs-tasks.amazonaws.com",
        "scheduler.amazonaws.com",
        "events.amazonaws.com",
        "ec2.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
        "states.amazonaws.com",
    }
)
WITHOUT_SOURCE_GUARD = frozenset({"ec2.amazonaws.com"})
ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity")
GUARD_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn"})
GUARD_TESTS = frozenset({"stringequals", "stringlike", "arnequals", "arnlike"})


class TrustPolicyServicePrincipals(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME, id="CKV_BP_4", categories=[CheckCategories.IAM], supported_data=["aws_iam_policy_document"]
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        statements = [s for s in as_list(conf.get("statement")) if isinstance(s, dict)]
        problems: list[str] = []
        for dynamic in as_list(conf.get("dynamic")):
            block = unwrap(dynamic).get("statement") if isinstance(unwrap(dynamic), dict) else None
            if not isinstance(block, dict):
                continue
            content = unwrap(block.get("content"))
            content = content if isinstance(content, dict) else {"principals": ["(unknown)"]}
            if not _names_principals(content):
                continue  # an identity statement (CKV_BP_1 judges it)
            if not _from_item(content.get("actions")):
                statements.append(content)
                continue
            items = as_list(block.get("for_each"))
            if any(not isinstance(item, dict) for item in items):
                problems.append("dynamic trust statements cannot be evaluated (their for_each is unresolved)")
                continue
            statements += [{**content, "actions": item.get("actions"), "effect": item.get("effect")} for item in items]
        for statement in statements:
            problems += _problems_of_hcl_statement(statement)
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _names_principals(statement: dict[str, Any]) -> bool:
    """Trust statements name principals (a nested dynamic block may be one that cannot be read)."""
    return any(as_list(statement.get(key)) for key in ("principals", "not_principals", "dynamic"))


def _from_item(value: Any) -> bool:
    return isinstance(unwrap(value), str) and "statement.value" in str(unwrap(value))


class RoleTrustPolicy(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME, id="CKV_BP_4", categories=[CheckCategories.IAM], supported_resources=["aws_iam_role"]
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        policy = unwrap(conf.get("assume_role_policy"))
        self.evaluated_keys = ["assume_role_policy"]
        if document_reference(policy):
            return CheckResult.PASSED  # judged as the aws_iam_policy_document itself
        document = load_document(policy)
        if isinstance(document, str):
            self.details = [f"trust {document}"]
            return CheckResult.FAILED
        statements = statements_of(document)
        problems = [] if statements else ["a trust policy without statements cannot be evaluated"]
        for statement in statements:
            problems += _problems_of_json_statement(statement)
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _assumes(actions: list[Any]) -> bool:
    """Whether some action could be a role assumption (unevaluable ones could be anything)."""
    return any(
        unevaluable_action(a) or any(fnmatch.fnmatchcase(target, a.lower()) for target in ASSUME_ACTIONS)
        for a in actions
    )


def _denies(effect: Any) -> bool:
    return str(unwrap(effect) or "Allow") == "Deny"


def _problems_of_hcl_statement(statement: dict[str, Any]) -> list[str]:
    actions = as_list(statement.get("actions"))
    if not _names_principals(statement) or _denies(statement.get("effect")) or not _assumes(actions):
        return []  # not a trust statement
    problems = _problems_of_actions(actions)
    if as_list(statement.get("not_principals")):
        problems.append("NotPrincipal trusts everyone else")
    principals = [p for p in as_list(statement.get("principals")) if isinstance(p, dict)]
    if len(principals) != len(as_list(statement.get("principals"))) or as_list(statement.get("dynamic")):
        problems.append("the trust statement's principals cannot be evaluated")
    services: list[str] = []
    for principal in principals:
        kind = unwrap(principal.get("type"))
        for identifier in as_list(principal.get("identifiers")):
            services += _judge_principal(kind, identifier, problems)
    guards = [
        (unwrap(c.get("test")), unwrap(c.get("variable")), as_list(c.get("values")))
        for c in as_list(statement.get("condition"))
        if isinstance(c, dict)
    ]
    return problems + _problems_of_guard(services, guards)


def _problems_of_json_statement(statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return ["a trust statement cannot be evaluated"]
    if _denies(statement.get("Effect")):
        return []
    problems = _problems_of_actions(as_list(statement.get("Action")))
    if "NotAction" in statement:
        problems.append("NotAction in a trust policy")
    if "NotPrincipal" in statement:
        problems.append("NotPrincipal trusts everyone else")
    principal = statement.get("Principal")
    services: list[str] = []
    if isinstance(principal, dict) and principal:
        for kind, identifiers in principal.items():
            for identifier in as_list(identifiers):
                services += _judge_principal(kind, identifier, problems)
    else:
        problems.append(f"principal {principal!r} is not an expected service")
    guards: list[tuple[Any, Any, list[Any]]] = []
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for test, keys in condition.items():
            for variable, values in keys.items() if isinstance(keys, dict) else []:
                guards.append((test, variable, as_list(values)))
    return problems + _problems_of_guard(services, guards)


def _problems_of_actions(actions: list[Any]) -> list[str]:
    other = [a for a in actions if not isinstance(a, str) or a.lower() != "sts:assumerole"]
    return [f"trust actions {other!r} (only sts:AssumeRole)"] if other or not actions else []


def _judge_principal(kind: Any, identifier: Any, problems: list[str]) -> list[str]:
    """The identifier as an expected service (a list of it), else a problem recorded."""
    if kind != "Service" or unresolved(identifier) or identifier not in EXPECTED_SERVICES:
        problems.append(f"{kind} principal {identifier!r} is not an expected service")
        return []
    return [str(identifier)]


def _problems_of_guard(services: list[str], guards: list[tuple[Any, Any, list[Any]]]) -> list[str]:
    if all(s in WITHOUT_SOURCE_GUARD for s in services):
        return []
    for test, variable, values in guards:
        if (
            isinstance(test, str)
            and isinstance(variable, str)
            and test.lower() in GUARD_TESTS
            and variable.lower() in GUARD_KEYS
            and values
            and all(isinstance(v, str) and v.strip("*?") for v in values)
        ):
            return []
    guarded = ", ".join(s for s in services if s not in WITHOUT_SOURCE_GUARD)
    return [f"{guarded} may assume the role for any account (no aws:SourceAccount or aws:SourceArn condition)"]


check = TrustPolicyServicePrincipals()
role_check = RoleTrustPolicy()

"""Shared logic of the batchplane IAM checks (no check of its own).

Unlike Checkov's built-in IAM checks, an IAM document that cannot be
evaluated fails here: unevaluable must never mean allowed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

REFERENCE_PREFIXES = ("data.aws_iam_policy_document.", "${data.aws_iam_policy_document.")


def unwrap(value: Any) -> Any:
    """Checkov wraps HCL attribute values in one-element lists."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list | dict | str | bool):
        if isinstance(value[0], dict | str | bool):
            return value[0]
        value = value[0]
    return value


def as_list(value: Any) -> list[Any]:
    value = unwrap(value)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# Terraform references that Checkov left unresolved, with or without ${...}.
_REFERENCE = re.compile(r"^(\$\{)?(data|var|local|module|each|count|statement|aws_[a-z0-9_]+)\.[A-Za-z0-9_.\[\]\"-]+")


def unresolved(item: Any) -> bool:
    return not isinstance(item, str) or "${" in item or bool(_REFERENCE.match(item))


def problems_of_statement(effect: Any, actions: Any, resources: Any) -> list[str]:
    """What is wrong with one identity-policy statement; what cannot be judged is a problem.

    Resources that are references (an ARN known after apply) are fine: they are
    never ``*``. Unresolved actions, or an unresolved resource next to
    iam:PassRole, cannot be judged.
    """
    if str(unwrap(effect) or "Allow") == "Deny":
        return []
    action_list = as_list(actions)
    resource_list = as_list(resources)
    if not action_list or any(unresolved(a) for a in action_list):
        return [f"cannot be evaluated (actions {action_list!r} are unresolved)"]
    found = [f"wildcard action {a}" for a in action_list if a == "*" or a.endswith(":*")]
    if any(fnmatch.fnmatch("iam:passrole", a.lower()) for a in action_list):
        if any(unresolved(r) for r in resource_list):
            found.append("iam:PassRole on unresolved resources cannot be evaluated")
        elif "*" in resource_list:
            found.append("iam:PassRole on *")
    return found


def problems_of_document(document: Any) -> list[str]:
    """Problems of a JSON policy document (a dict, or its JSON text)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ["policy cannot be evaluated (not JSON and not a policy document reference)"]
    if not isinstance(document, dict):
        return ["policy cannot be evaluated"]
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    found: list[str] = []
    for statement in statements:
        if not isinstance(statement, dict):
            return ["policy cannot be evaluated"]
        if "Principal" in statement or "NotPrincipal" in statement:
            continue  # a resource policy (trust, key policy): not an identity grant
        if "NotAction" in statement or "NotResource" in statement:
            found.append("NotAction/NotResource grants everything else")
        found += problems_of_statement(statement.get("Effect"), statement.get("Action"), statement.get("Resource"))
    return found

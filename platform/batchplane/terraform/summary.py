"""What a saved plan would do, as a reviewer reads it: written next to the plan as ``summary.json``.

Terraform's plan JSON says everything and shows little. A pull request review wants:
how many resources are added, changed, replaced and destroyed; for each replacement
the attribute that forces it (``replace_paths``); the IAM grants the plan adds or
removes (statements expanded to effect, action and resource, so a widened policy shows
exactly what it widens); for each replaced compute environment, job queue or
scheduling policy, what that does to queued and running jobs
(:mod:`batchplane.terraform.replacements`); capacity (compute environment vCPUs
and instance types, queue priority, a job's vCPUs and memory); and the job
images that change.

Only the plan JSON is read, so the summary of a plan made on one machine reads the
same anywhere (the pull-request comment is made from these files).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from batchplane.errors import StateFileError
from batchplane.state import read_text
from batchplane.terraform.replacements import Replacement, replacement_of

SUMMARY_FILE = "summary.json"
PLAN_FILE = "batchplane.tfplan"
"""The saved plan the summary describes (:mod:`batchplane.terraform.lifecycle` writes both)."""
UNKNOWN = "(known after apply)"

# Attributes that hold an IAM policy document, by resource type.
_POLICY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "aws_iam_role": ("assume_role_policy",),
    "aws_iam_role_policy": ("policy",),
    "aws_iam_policy": ("policy",),
    "aws_iam_user_policy": ("policy",),
    "aws_iam_group_policy": ("policy",),
    "aws_ecr_repository_policy": ("policy",),
    "aws_ecr_registry_policy": ("policy",),
    "aws_kms_key": ("policy",),
    "aws_s3_bucket_policy": ("policy",),
    "aws_sns_topic_policy": ("policy",),
    "aws_sqs_queue_policy": ("policy",),
}
_ATTACHMENTS = ("aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment")


@dataclass(frozen=True)
class Change:
    address: str
    action: str  # create, update, delete, replace
    forced_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grants:
    address: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Value:
    address: str
    attribute: str
    before: str
    after: str


@dataclass(frozen=True)
class PlanSummary:
    root: str
    counts: dict[str, int]
    changes: tuple[Change, ...] = ()
    grants: tuple[Grants, ...] = ()
    capacity: tuple[Value, ...] = ()
    images: tuple[Value, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    """Replaced compute environments, queues and scheduling policies, with what that does to jobs."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanSummary:
        return cls(
            root=data["root"],
            counts=dict(data["counts"]),
            changes=tuple(Change(c["address"], c["action"], tuple(c["forced_by"])) for c in data["changes"]),
            grants=tuple(Grants(g["address"], tuple(g["added"]), tuple(g["removed"])) for g in data["grants"]),
            capacity=tuple(Value(**v) for v in data["capacity"]),
            images=tuple(Value(**v) for v in data["images"]),
            replacements=tuple(Replacement.from_dict(r) for r in data.get("replacements", [])),
            extra=dict(data.get("extra", {})),
        )


def _action(actions: list[str]) -> str | None:
    if set(actions) == {"create", "delete"}:
        return "replace"
    for action in ("create", "update", "delete"):
        if actions == [action]:
            return action
    return None  # no-op, read


def _path(parts: list[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(parts))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def statements(document: dict[str, Any] | None) -> set[str]:
    """A policy document as one line per effect x action x resource (or principal, for trust)."""
    found: set[str] = set()
    if document is None:
        return found
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        effect = str(statement.get("Effect", "Allow"))
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        actions += [f"NOT {a}" for a in _as_list(statement.get("NotAction"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        resources += [f"NOT {r}" for r in _as_list(statement.get("NotResource"))]
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            principals = [f"{kind} {p}" for kind, ps in sorted(principal.items()) for p in _as_list(ps)]
        else:
            principals = [str(principal)] if principal is not None else []
        condition = " when " + json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
        for action in actions or ["(no action)"]:
            for resource in resources or [""]:
                for who in principals or [""]:
                    on = f" on {resource}" if resource else ""
                    to = f" for {who}" if who else ""
                    found.add(f"{effect} {action}{on}{to}{condition}")
    return found


def _grants(resource: dict[str, Any], before: dict[str, Any], after: dict[str, Any], unknown: dict[str, Any]) -> Grants:
    address, kind = resource["address"], resource["type"]
    if kind in _ATTACHMENTS:
        old = {f"attach {before['policy_arn']}"} if before.get("policy_arn") else set()
        new = {f"attach {UNKNOWN if unknown.get('policy_arn') else after.get('policy_arn')}"} if after else set()
        return Grants(address, tuple(sorted(new - old)), tuple(sorted(old - new)))
    old_lines: set[str] = set()
    new_lines: set[str] = set()
    for attribute in _POLICY_ATTRIBUTES[kind]:
        if unknown.get(attribute) is True:
            # Recomputed from values only the apply knows (a new job definition revision's ARN, say):
            # listing the old statements as removed would alarm for nothing, so say just that.
            return Grants(address, (f"{attribute} {UNKNOWN}: recomputed from values the apply creates",), ())
        old_lines |= statements(_document(before.get(attribute)))
        new_lines |= statements(_document(after.get(attribute)))
    for block in _as_list(after.get("inline_policy")) if kind == "aws_iam_role" else []:
        new_lines |= statements(_document(block.get("policy") if isinstance(block, dict) else None))
    for block in _as_list(before.get("inline_policy")) if kind == "aws_iam_role" else []:
        old_lines |= statements(_document(block.get("policy") if isinstance(block, dict) else None))
    return Grants(address, tuple(sorted(new_lines - old_lines)), tuple(sorted(old_lines - new_lines)))


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _container(value: Any) -> dict[str, Any]:
    """A job definition's container properties: vCPUs, memory and image, from the JSON terraform plans."""
    document = _document(value) or {}
    found: dict[str, Any] = {"image": document.get("image")}
    for requirement in _as_list(document.get("resourceRequirements")):
        if isinstance(requirement, dict) and requirement.get("type") in ("VCPU", "MEMORY"):
            found["vcpus" if requirement["type"] == "VCPU" else "memory_mib"] = requirement.get("value")
    found.setdefault("vcpus", document.get("vcpus"))
    found.setdefault("memory_mib", document.get("memory"))
    return found


def _values(resource: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Capacity-relevant attributes of ``resource``: name -> (before, after)."""
    kind = resource["type"]
    if kind == "aws_batch_compute_environment":
        old = (_as_list(before.get("compute_resources")) or [{}])[0]
        new = (_as_list(after.get("compute_resources")) or [{}])[0]
        names = ("max_vcpus", "min_vcpus", "instance_type", "type")
        return {n: (old.get(n), new.get(n)) for n in names}
    if kind == "aws_batch_job_queue":
        return {n: (before.get(n), after.get(n)) for n in ("priority", "state")}
    if kind == "aws_batch_job_definition":
        old, new = _container(before.get("container_properties")), _container(after.get("container_properties"))
        return {n: (old.get(n), new.get(n)) for n in ("vcpus", "memory_mib", "image")}
    return {}


def _triggers(document: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Per module, the ``terraform_data`` inputs the plan changes: what ``replace_triggered_by`` follows.

    A replacement terraform reports with ``action_reason: replace_by_triggers`` has no
    ``replace_paths``; its reason is the trigger of its own module (the job queue module's
    ``terraform_data.fair_share``: fair share added or removed).
    """
    found: dict[str, list[str]] = {}
    for resource in document.get("resource_changes", []):
        change = resource.get("change", {})
        if resource.get("type") != "terraform_data" or _action(list(change.get("actions", []))) is None:
            continue
        before, after = (change.get("before") or {}).get("input"), (change.get("after") or {}).get("input")
        text = f"terraform_data.{resource.get('name')} ({json.dumps(before)} → {json.dumps(after)})"
        found.setdefault(str(resource.get("module_address", "")), []).append(text)
    return {module: tuple(sorted(texts)) for module, texts in found.items()}


def _forced_by(resource: dict[str, Any], triggers: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    change = resource.get("change", {})
    forced = tuple(sorted(_path(list(p)) for p in change.get("replace_paths") or []))
    if not forced and resource.get("action_reason") == "replace_by_triggers":
        return triggers.get(str(resource.get("module_address", "")), ("replace_triggered_by",))
    return forced


def summarize(root: str, document: dict[str, Any]) -> PlanSummary:
    """The reviewable summary of one root's plan JSON (``terraform show -json``)."""
    counts = {"add": 0, "change": 0, "replace": 0, "destroy": 0}
    changes: list[Change] = []
    grants: list[Grants] = []
    capacity: list[Value] = []
    images: list[Value] = []
    replacements: list[Replacement] = []
    triggers = _triggers(document)
    for resource in document.get("resource_changes", []):
        if resource.get("mode") == "data":
            continue
        change = resource.get("change", {})
        action = _action(list(change.get("actions", [])))
        if action is None:
            continue
        counts[{"create": "add", "update": "change", "delete": "destroy", "replace": "replace"}[action]] += 1
        forced = _forced_by(resource, triggers) if action == "replace" else ()
        changes.append(Change(resource["address"], action, forced))
        replaced = replacement_of(resource, forced) if action == "replace" else None
        if replaced is not None:
            replacements.append(replaced)
        before, after = change.get("before") or {}, change.get("after") or {}
        unknown = change.get("after_unknown") or {}
        if resource["type"] in _POLICY_ATTRIBUTES or resource["type"] in _ATTACHMENTS:
            found = _grants(resource, before, after, unknown)
            if found.added or found.removed:
                grants.append(found)
        pending = unknown.get("container_properties") is True and resource["type"] == "aws_batch_job_definition"
        for name, (old, planned) in sorted(_values(resource, before, after).items()):
            new = UNKNOWN if pending else planned
            if old == new:
                continue
            value = Value(resource["address"], name, _text(old), _text(new))
            (images if name == "image" else capacity).append(value)
    return PlanSummary(root, counts, tuple(changes), tuple(grants), tuple(capacity), tuple(images), tuple(replacements))


def write_summary(directory: Path, root: str, document: dict[str, Any]) -> PlanSummary:
    summary = summarize(root, document)
    text = json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n"
    (directory / SUMMARY_FILE).write_text(text, encoding="utf-8")
    return summary


def read_summary(directory: Path) -> PlanSummary | None:
    """The summary saved beside a plan; ``None`` when there is none. Corruption is exit 3 naming the file."""
    path = directory / SUMMARY_FILE
    if not (directory / PLAN_FILE).is_file():
        return None  # applied (or never made): no plan to review, whatever summary is left
    text = read_text(path)
    if text is None:
        return None
    try:
        return PlanSummary.from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise StateFileError(path, exc.lineno, f"expected JSON: {exc.msg}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise StateFileError(path, None, f"expected a plan summary: {type(exc).__name__} {exc}") from None

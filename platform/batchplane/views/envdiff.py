"""How two environments differ, as a user cares about it.

Three layers, grouped by what they belong to (the environment itself, each
compute environment, queue, job and pipeline, the images):

- **Resolved spec values**: each environment's platform with its overrides
  applied, compared field by field (``jobs.csv-ingest.vcpus: 1 -> 2``).
  Environment-level settings are compared where they change behaviour:
  ``tier``, ``approval`` (the effective one: production tiers default to
  required), ``max_vcpus``, ``log_retention_days`` and the *shape* of the
  network (created or existing, availability zones or subnet count, public
  IPs). Identity is left out on purpose because it always differs: the account
  id (shown once, beside the environment names) and the network's CIDR and
  VPC, subnet and security-group ids.
- **Image digests** from ``images.lock.json``: every image a job of either
  environment uses whose digest differs (``unpinned`` when there is none).
  Tags are shown, but only a digest makes a difference: it is what runs.
- **Rendered Terraform**: the two roots as ``batchplane render`` would write
  them from the current spec and lock (rendered in memory, not read from disk:
  ``render --check`` is the tool for stale roots), as unified diffs. Values
  that differ only because the environments are different places are
  normalised first, so that they do not drown the real differences: both roots
  are rendered with the account id ``<account>`` (the ECR registry account
  kept as it is), the environment name is ``<env>`` in the ``environment``
  variable, its tag and an S3 backend's state key, and the ``network``
  variable is left out (its shape is in the environment settings above); a
  pipeline's definition is diffed as JSON, ``<env>`` in its derived names.
  ``terraform.tfvars.json`` is diffed one entry of ``jobs``, ``job_queues``,
  ``compute_environments`` and ``pipelines`` at a time, each hunk under its
  entry (line numbers within it); its other variables are the environment's.
  batchplane's bookkeeping (``.batchplane/``: manifest, source map) is not diffed. Values a user
  wrote are never normalised: a secret ARN naming each environment's own account is a real difference.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from batchplane.images.lock import ImageLock, LockEntry
from batchplane.render.pipelines import neutral_definition
from batchplane.render.roots import (
    DEFAULT_AVAILABILITY_ZONES,
    MANIFEST,
    hcl_string,
    render_env_root,
    state_key,
    to_json,
)
from batchplane.spec.loader import Spec
from batchplane.spec.locations import Loc, dotted
from batchplane.spec.models import Environment, Platform

ACCOUNT_PLACEHOLDER = "<account>"
ENV_PLACEHOLDER = "<env>"
TFVARS = "terraform.tfvars.json"
BOOKKEEPING_DIR = MANIFEST.split("/", 1)[0] + "/"

GroupKind = Literal["environment", "compute", "queue", "job", "pipeline"]

# Spec section, tfvars variable and group kind of each kind of entry, in the order they are reported.
SECTIONS: tuple[tuple[str, str, GroupKind], ...] = (
    ("compute", "compute_environments", "compute"),
    ("queues", "job_queues", "queue"),
    ("jobs", "jobs", "job"),
    ("pipelines", "pipelines", "pipeline"),
)
NORMALISED_VARIABLES = ("network",)
"""Left out of the Terraform diff: identity, summarised in the environment settings."""


@dataclass(frozen=True)
class Change:
    """One value that differs: the resolved spec value in each environment."""

    path: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class Group:
    """The differences of one thing: the environment settings, or one compute environment, queue, job or pipeline."""

    kind: GroupKind
    name: str
    changes: tuple[Change, ...] = ()
    terraform: tuple[str, ...] = ()
    """Unified diff lines of the normalised rendered values (empty when they are equal)."""

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [c.as_dict() for c in self.changes], "terraform": list(self.terraform)}


@dataclass(frozen=True)
class ImageChange:
    """An image whose digest differs between the environments (None: unpinned)."""

    image: str
    jobs: tuple[str, ...]
    before: LockEntry | None
    after: LockEntry | None

    def as_dict(self) -> dict[str, Any]:
        return {"jobs": list(self.jobs), "from": _pin(self.before), "to": _pin(self.after)}


@dataclass(frozen=True)
class EnvDiff:
    """Everything that differs from one environment to another."""

    source: str
    target: str
    source_account: str
    target_account: str
    environment: Group
    groups: tuple[Group, ...]
    """Compute environments, queues, jobs and pipelines that differ, in that order (spec order within each)."""
    images: tuple[ImageChange, ...]
    files: tuple[tuple[str, tuple[str, ...]], ...]
    """Other rendered files that differ (normally none: the ``.tf`` files are fixed structure)."""

    @property
    def empty(self) -> bool:
        return not (self.environment.changes or self.environment.terraform or self.groups or self.images or self.files)

    @property
    def value_count(self) -> int:
        """How many resolved spec values differ (environment settings included)."""
        return len(self.environment.changes) + sum(len(g.changes) for g in self.groups)

    def as_dict(self) -> dict[str, Any]:
        """A stable structure: every key always present, maps hold only what differs."""
        sections: dict[str, dict[str, Any]] = {section: {} for section, _, _ in SECTIONS}
        section_of = {kind: section for section, _, kind in SECTIONS}
        for group in self.groups:
            sections[section_of[group.kind]][group.name] = group.as_dict()
        return {
            "from": {"environment": self.source, "account_id": self.source_account},
            "to": {"environment": self.target, "account_id": self.target_account},
            "differs": not self.empty,
            "environment": self.environment.as_dict(),
            **sections,
            "images": {i.image: i.as_dict() for i in self.images},
            "files": {path: list(lines) for path, lines in self.files},
        }


def environment_diff(spec: Spec, lock: ImageLock, source: str, target: str) -> EnvDiff:
    """The differences from environment ``source`` to ``target`` (both must be in the spec)."""
    before, after = spec.env(source), spec.env(target)
    before_root, before_vars = _normalised_root(spec, lock, source)
    after_root, after_vars = _normalised_root(spec, lock, target)

    groups: list[Group] = []
    for section, variable, kind in SECTIONS:
        old, new = getattr(before, section), getattr(after, section)
        for name in _union(old, new):
            loc: Loc = (section, name)
            changes = _changes(_dump(old.get(name)), _dump(new.get(name)), loc)
            terraform = _unified(
                before_vars[variable].get(name),
                after_vars[variable].get(name),
                source,
                target,
                f"{TFVARS}: {variable}.{name}",
            )
            if changes or terraform:
                groups.append(Group(kind, name, tuple(changes), tuple(terraform)))

    per_entry = [variable for _, variable, _ in SECTIONS]
    environment = Group(
        "environment",
        "",
        tuple(_environment_changes(before.environments[source], after.environments[target])),
        tuple(
            _unified(
                {k: v for k, v in before_vars.items() if k not in per_entry},
                {k: v for k, v in after_vars.items() if k not in per_entry},
                source,
                target,
                TFVARS,
            )
        ),
    )
    files = [
        (path, tuple(lines))
        for path in _union(before_root, after_root)
        if (lines := _unified_text(before_root.get(path, ""), after_root.get(path, ""), source, target, path))
    ]
    return EnvDiff(
        source=source,
        target=target,
        source_account=before.environments[source].account_id,
        target_account=after.environments[target].account_id,
        environment=environment,
        groups=tuple(groups),
        images=tuple(_image_changes(before, after, lock, source, target)),
        files=tuple(files),
    )


# --- resolved spec values ----------------------------------------------------


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """Keys of both, in the first's order, then the second's new ones."""
    return list(dict.fromkeys([*first, *second]))


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def _plain(value: Any) -> Any:
    """Whole floats as ints, so that ``vcpus: 1`` reads as 1 (and equals it)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _changes(before: Any, after: Any, loc: Loc) -> list[Change]:
    """Leaf-level differences; lists of equal length are compared item by item, others whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [c for key in _union(before, after) for c in _changes(before.get(key), after.get(key), (*loc, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            c for i, (old, new) in enumerate(zip(before, after, strict=True)) for c in _changes(old, new, (*loc, i))
        ]
    before, after = _plain(before), _plain(after)
    return [] if before == after else [Change(dotted(loc), before, after)]


def _approval(environment: Environment) -> str:
    return "required" if environment.needs_approval else "none"


def _network_shape(environment: Environment) -> str:
    """What a network means for the jobs, without its identity (CIDR, ids)."""
    network = environment.network
    if network.create:
        shape = f"created, {network.availability_zones or DEFAULT_AVAILABILITY_ZONES} AZs"
    else:
        count = len(network.subnet_ids or [])
        shape = f"existing, {count} subnet{'s' if count != 1 else ''}"
    return shape + (", public IPs" if network.assign_public_ip else "")


def _environment_changes(before: Environment, after: Environment) -> list[Change]:
    settings: dict[str, Callable[[Environment], object]] = {
        "tier": lambda e: e.tier,
        "approval": _approval,
        "max_vcpus": lambda e: e.max_vcpus,
        "log_retention_days": lambda e: e.log_retention_days,
        "network": _network_shape,
    }
    return [Change(name, get(before), get(after)) for name, get in settings.items() if get(before) != get(after)]


# --- images ------------------------------------------------------------------


def _pin(entry: LockEntry | None) -> dict[str, str] | None:
    return None if entry is None else {"digest": entry.digest, "tag": entry.tag}


def _image_changes(before: Platform, after: Platform, lock: ImageLock, source: str, target: str) -> list[ImageChange]:
    users: dict[str, list[str]] = {}
    for platform in (before, after):
        for name, job in platform.jobs.items():
            names = users.setdefault(job.image, [])
            if name not in names:
                names.append(name)
    changes = []
    for image, jobs in users.items():
        old, new = lock.entry(image, source), lock.entry(image, target)
        if (old.digest if old else None) != (new.digest if new else None):
            changes.append(ImageChange(image, tuple(jobs), old, new))
    return changes


# --- rendered Terraform --------------------------------------------------------


def _anonymous(platform: Platform, env: str) -> Platform:
    """The platform with the environment's account replaced by a placeholder (the registry's kept)."""
    environment = platform.environments[env].model_copy(update={"account_id": ACCOUNT_PLACEHOLDER})
    registry = platform.registry
    if registry.type == "ecr" and registry.account_id is None:
        # The registry defaults to the first environment's account: pin it before that account is replaced.
        registry = registry.model_copy(update={"account_id": platform.registry_account_id})
    return platform.model_copy(
        update={"environments": {**platform.environments, env: environment}, "registry": registry}
    )


def _normalised_root(spec: Spec, lock: ImageLock, env: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The rendered root of ``env`` without its identity (see the module docstring): its files but
    ``terraform.tfvars.json``, and that file's values."""
    platform = _anonymous(spec.env(env), env)
    files = render_env_root(dataclasses.replace(spec, resolved={**spec.resolved, env: platform}), lock, env)
    root = {path: text for path, text in files.items() if path != TFVARS and not path.startswith(BOOKKEEPING_DIR)}
    values = json.loads(files[TFVARS])
    values["environment"] = ENV_PLACEHOLDER
    values["tags"]["environment"] = ENV_PLACEHOLDER
    for variable in NORMALISED_VARIABLES:
        values.pop(variable, None)
    for pipeline in values.get("pipelines", {}).values():  # as JSON lines, not one escaped string
        pipeline["definition"] = neutral_definition(pipeline["definition"], platform.name, env, ENV_PLACEHOLDER)
    if platform.state.backend == "s3":
        real, neutral = hcl_string(state_key(platform, env)), hcl_string(state_key(platform, ENV_PLACEHOLDER))
        root = {path: text.replace(real, neutral) for path, text in root.items()}
    return root, values


def _unified(before: Any, after: Any, source: str, target: str, label: str) -> list[str]:
    """A unified diff of two JSON values in the rendered form (absent: no lines)."""
    return _unified_text(
        "" if before is None else to_json(before), "" if after is None else to_json(after), source, target, label
    )


def _unified_text(before: str, after: str, source: str, target: str, label: str) -> list[str]:
    return list(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=f"environments/{source}/{label}",
            tofile=f"environments/{target}/{label}",
            lineterm="",
        )
    )


# --- text report ---------------------------------------------------------------

LineKind = Literal["title", "heading", "value", "removed", "added", "hunk", "context"]


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _show_pin(entry: LockEntry | None) -> str:
    if entry is None:
        return "unpinned"
    algorithm, _, digest = entry.digest.partition(":")
    return f"{algorithm}:{digest[:12]} ({entry.tag})"


def _diff_lines(lines: Iterable[str]) -> list[tuple[str, LineKind]]:
    kinds: list[tuple[str, LineKind]] = []
    for line in lines:
        kind: LineKind = "context"
        if line.startswith(("---", "+++", "@@")):
            kind = "hunk"
        elif line.startswith("-"):
            kind = "removed"
        elif line.startswith("+"):
            kind = "added"
        kinds.append((f"    {line}", kind))
    return kinds


def report_lines(diff: EnvDiff) -> list[tuple[str, LineKind]]:
    """The text report, each line with its kind (for colour): sections by environment, compute, queue, job, image."""
    if diff.empty:
        return [(f"{diff.source} → {diff.target}: no differences", "title")]
    lines: list[tuple[str, LineKind]] = [
        (f"{diff.source} ({diff.source_account}) → {diff.target} ({diff.target_account})", "title")
    ]
    for group in (diff.environment, *diff.groups):
        if not (group.changes or group.terraform):
            continue
        lines += [("", "value"), (f"{group.kind} {group.name}".rstrip(), "heading")]
        lines += [(f"  {c.path}: {_show(c.before)} → {_show(c.after)}", "value") for c in group.changes]
        lines += _diff_lines(group.terraform)
    if diff.images:
        lines += [("", "value"), ("images", "heading")]
        for image in diff.images:
            used = ", ".join(image.jobs)
            lines.append(
                (f"  {image.image}: {_show_pin(image.before)} → {_show_pin(image.after)} (jobs: {used})", "value")
            )
    for path, diff_lines in diff.files:
        lines += [("", "value"), (f"file {path}", "heading"), *_diff_lines(diff_lines)]
    return lines

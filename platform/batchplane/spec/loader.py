"""Load platform.yaml into a validated :class:`Spec`, keeping line numbers.

Every problem is collected (YAML shape, schema, references, overrides) and
raised together as one :class:`SpecError`, each located at the line a human
edits.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from batchplane import layout
from batchplane.errors import SpecError, SpecNotFoundError, SpecProblem
from batchplane.spec.checks import check_references, did_you_mean, unknown_name
from batchplane.spec.models import NAME_PATTERN, OVERRIDABLE_SECTIONS, Compute, Environment, Job, Platform, Queue

SPEC_FILENAME = layout.SPEC_FILENAME

_M = TypeVar("_M", bound=BaseModel)

Loc = tuple[str | int, ...]

_FRIENDLY_PATTERNS = {
    NAME_PATTERN: "must be lowercase letters, digits and '-', start with a letter, at most 32 characters",
    r"^[0-9]{12}$": 'must be a 12-digit AWS account id, quoted ("111111111111")',
    r"^[a-z]{2}(-[a-z]+)+-[0-9]$": "must be an AWS region such as eu-west-1",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must be a variable name (letters, digits, _; not starting with a digit)",
    r"^[A-Za-z0-9_]+$": "must be letters, digits and _ only",
}


@dataclass(frozen=True)
class Locations:
    """Line and column (1-based) of every key and item in the YAML document."""

    file: str
    points: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    written: dict[Loc, str] = field(default_factory=dict)
    """The text as written of every plain scalar YAML 1.1 read as something else than a string."""
    found: list[SpecProblem] = field(default_factory=list)
    """Problems seen while reading the YAML that do not stop it (bad keys, control characters)."""

    def line(self, loc: Loc) -> int | None:
        """Line of ``loc``, or of its nearest located ancestor."""
        for end in range(len(loc), -1, -1):
            point = self.points.get(loc[:end])
            if point is not None:
                return point[0]
        return None

    def has(self, loc: Loc) -> bool:
        return loc in self.points

    def problem(self, loc: Loc, message: str) -> SpecProblem:
        return SpecProblem(self.file, self.line(loc), dotted(loc), message)


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


def dotted(loc: Loc) -> str:
    """``('jobs', 'a', 'retry', 'on_exit', 0)`` -> ``jobs.a.retry.on_exit[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            # A key with control characters is reported, not replayed to the terminal.
            name = "".join(f"\\u{ord(c):04x}" if _forbidden(c) else c for c in str(part))
            text += f".{name}" if text else name
    return text


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
    document = _parse_yaml(text, locations)
    if not isinstance(document, dict):
        got = "an empty file" if document is None else f"a {type(document).__name__}"
        line = locations.line(()) or 1
        raise SpecError([SpecProblem(locations.file, line, "", f"expected a mapping at the top level, got {got}")])

    base, problems = _validate(document, locations, prefix=())
    problems += locations.found
    images_dir = path.parent / "job_images" if check_images else None
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
        env_problems, merged = _apply_overrides(document, env_name, locations)
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
                    _override_problem(locations, env_loc, loc, f"{msg} (after environment {env_name}'s overrides)")
                )
        resolved[env_name] = platform

    if problems:
        raise SpecError(sorted(set(problems)))
    return Spec(path=path, platform=base, resolved=resolved, locations=locations)


# --- YAML -------------------------------------------------------------------

# Aliases may expand a small file into a huge document; stop well before that.
MAX_NODES = 200_000


def _parse_yaml(text: str, locations: Locations) -> Any:
    """Plain values from YAML text, recording the position of every key and item.

    libyaml composes the node tree (fast, with marks); values are built here so
    that duplicate keys are errors and every position is kept.
    """
    loader = yaml.CSafeLoader(text) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # The document's own position: problems of top-level keys that are missing fall back to it.
        locations.points[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
        return _Builder(loader, locations).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SpecError([SpecProblem(locations.file, line, "", f"YAML syntax: {reason}", column)]) from None
    except yaml.reader.ReaderError as exc:
        # No mark, and libyaml's position counts bytes: find the (first) offending character instead.
        index = max(text.find(chr(exc.character)), 0) if isinstance(exc.character, int) else 0
        line, column = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
        message = f"YAML syntax: character #x{exc.character:04x}: {exc.reason}"
        raise SpecError([SpecProblem(locations.file, line, "", message, column)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecProblem(locations.file, None, "", f"YAML syntax: {exc}")]) from None
    except RecursionError:
        raise SpecError([SpecProblem(locations.file, None, "", "YAML nests too deeply")]) from None
    finally:
        loader.dispose()


class _Builder:
    """Builds plain Python values from composed YAML nodes."""

    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.visited = 0

    def _mark(self, loc: Loc, node: yaml.Node) -> None:
        self.locations.points.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))

    def build(self, node: yaml.Node, loc: Loc, active: frozenset[int] = frozenset()) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise SpecError([self.locations.problem(loc, f"the document expands to more than {MAX_NODES} values")])
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in active:
                raise SpecError([self.locations.problem(loc, "a YAML alias refers to itself")])
            active = active | {id(node)}
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, active)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self._mark((*loc, index), item)
                items.append(self.build(item, (*loc, index), active))
            return items
        return self._scalar(node, loc)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, active: frozenset[int]) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            name = str(key_node.value)
            if name in seen:
                raise SpecError(
                    [
                        SpecProblem(
                            self.locations.file,
                            key_node.start_mark.line + 1,
                            dotted((*loc, name)),
                            f"duplicate key (first defined on line {seen[name]})",
                            key_node.start_mark.column + 1,
                        )
                    ]
                )
            seen[name] = key_node.start_mark.line + 1
        self.loader.flatten_mapping(node)  # resolve "<<" merge keys; explicit keys come last and win
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError([self.locations.problem(loc, "mapping keys must be plain strings")])
            # The key as written, whatever YAML 1.1 makes of it: ON, yes, 012, ~ and 1e3 are not
            # strings there, and renaming them (ON -> True) would silently change the spec.
            name = str(key_node.value)
            self._mark((*loc, name), key_node)
            if key_node.tag != _STR_TAG:
                self._key_problem(key_node, (*loc, name))
            else:
                self._check_text(name, (*loc, name))
            result[name] = self.build(value_node, (*loc, name), active)
        return result

    def _key_problem(self, key_node: yaml.ScalarNode, loc: Loc) -> None:
        written = str(key_node.value)
        kind = _KINDS.get(key_node.tag, key_node.tag.rsplit(":", 1)[-1])
        if key_node.tag.startswith("tag:yaml.org,2002:") and not key_node.style and key_node.tag in _KINDS:
            reason = f"YAML 1.1 reads the key {written or '(empty)'} as {kind}"
        else:
            reason = f"the key {written or '(empty)'} is tagged {key_node.tag}, not a string"
        self.locations.found.append(self.locations.problem(loc, f"{reason}; quote it: {_quoted(written)}"))

    def _check_text(self, text: str, loc: Loc) -> None:
        """NUL and other control characters are errors: AWS and the tools in between drop or refuse them."""
        bad = sorted({c for c in text if _forbidden(c)})
        if bad:
            listed = ", ".join(f"U+{ord(c):04X}" for c in bad)
            self.locations.found.append(
                self.locations.problem(
                    loc, f"control character {listed} in {text!r}: only tab and newline are allowed in strings"
                )
            )

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        if not node.tag.startswith("tag:yaml.org,2002:"):
            raise SpecError(
                [self.locations.problem(loc, f"unsupported YAML tag {node.tag} (custom tags are not allowed)")]
            )
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, LookupError, AttributeError):  # 2027-02-30, !!bool maybe, !!int ''
            kind = node.tag.rsplit(":", 1)[-1]
            raise SpecError([self.locations.problem(loc, f"{node.value!r} is not a valid {kind}")]) from None
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, bytes):
            raise SpecError([self.locations.problem(loc, "binary values are not allowed")])
        if isinstance(value, str):
            self._check_text(value, loc)
        elif not getattr(node, "style", None):  # plain (libyaml says "", PyYAML None)
            self.locations.written.setdefault(loc, str(node.value))
        return value


_STR_TAG = "tag:yaml.org,2002:str"
_KINDS = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}
# Tab and newline are ordinary in text (block scalars, commands); every other C0/C1 control
# character, DEL and lone surrogates (which cannot even be written as UTF-8) are refused.
_ALLOWED_CONTROLS = frozenset("\t\n")


def _forbidden(char: str) -> bool:
    return char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs")


def _quoted(written: str) -> str:
    """``written`` as a double-quoted YAML string (JSON's quoting is valid YAML)."""
    return json.dumps(written, ensure_ascii=False)


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
            message = _message(error, loc)
            written = locations.written.get((*prefix, *loc), locations.written.get(loc))
            message += _quote_hint(error, written)
            if prefix:
                problems.append(_override_problem(locations, prefix, loc, message))
            else:
                problems.append(locations.problem(loc, message))
        return None, problems


def _message(error: Mapping[str, Any], loc: Loc) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        hint += f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        friendly = _FRIENDLY_PATTERNS.get(pattern)
        return f"{error['input']!r} {friendly}" if friendly else f"{error['input']!r} does not match {pattern}"
    if kind == "string_type" and not isinstance(error.get("input"), dict | list):
        return f"expected a string, got {_describe_value(error.get('input'))}"
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value|Assertion) error, ", "", message)
    if kind == "literal_error":
        return f"{error['input']!r} is not allowed: {message[0].lower()}{message[1:]}"
    return f"{message[0].lower()}{message[1:]}"


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    return f"{type(value).__name__}"


def _quote_hint(error: Mapping[str, Any], written: str | None) -> str:
    """'quote it' with the text as written: the parsed value (012 -> 10, no -> False) would change it."""
    if written is None or error["type"] not in ("string_type", "literal_error"):
        return ""
    if isinstance(error.get("input"), str | dict | list):
        return ""
    if written == "":
        return ' (an empty value is null: write "" for an empty string)'
    parsed = error.get("input")
    shown = "" if written == str(parsed) else f"written {written}; "
    return f" ({shown}quote it: {_quoted(written)})"


def _partial_platform(document: dict[str, Any]) -> tuple[Platform, dict[str, frozenset[str]]]:
    """The parts of an invalid spec that parse, for reference checks in the same run.

    Each environment, compute environment, queue and job is validated by itself; a
    field with a problem is dropped (it is reported already) when the entry then
    validates without it. Entries that still fail are returned by name, so that
    references to them are not reported as unknown.
    """
    environments, _ = _entries(document, "environments", Environment)
    compute, broken_compute = _entries(document, "compute", Compute)
    queues, broken_queues = _entries(document, "queues", Queue)
    jobs, broken_jobs = _entries(document, "jobs", Job)
    name = document.get("name")
    partial = Platform.model_construct(
        version=1,
        region="",
        name=name if isinstance(name, str) else "",
        environments=environments,
        compute=compute,
        queues=queues,
        jobs=jobs,
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


def _allowed_keys(loc: Loc) -> list[str]:
    """Field names of the model found at ``loc``, for 'did you mean' hints."""
    current: Any = Platform
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _unwrap_model(current)
    return sorted(model.model_fields) if model is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    model = _unwrap_model(annotation)
    if model is not None:
        if isinstance(part, str) and part in model.model_fields:
            return model.model_fields[part].annotation
        return None
    for candidate in _variants(annotation):
        origin = get_origin(candidate)
        if origin is dict:
            return get_args(candidate)[1]
        if origin is list and isinstance(part, int):
            return get_args(candidate)[0]
    return None


def _variants(annotation: Any) -> Iterator[Any]:
    args = get_args(annotation)
    if get_origin(annotation) is not None and get_origin(annotation) not in (dict, list) and args:
        for arg in args:
            yield from _variants(arg)
    else:
        yield annotation


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _variants(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


# --- overrides --------------------------------------------------------------


def _apply_overrides(
    document: dict[str, Any], env_name: str, locations: Locations
) -> tuple[list[SpecProblem], dict[str, Any] | None]:
    env_loc: Loc = ("environments", env_name, "overrides")
    overrides = document["environments"][env_name]["overrides"]
    problems: list[SpecProblem] = []
    merged = copy.deepcopy(document)
    for section, entries in overrides.items():
        section_loc = (*env_loc, section)
        if section not in OVERRIDABLE_SECTIONS:
            problems.append(locations.problem(section_loc, f"only {', '.join(OVERRIDABLE_SECTIONS)} can be overridden"))
            continue
        if not isinstance(entries, dict):
            problems.append(locations.problem(section_loc, "expected a mapping of entry names to changed values"))
            continue
        for entry, values in entries.items():
            entry_loc = (*section_loc, entry)
            if entry not in merged.get(section, {}):
                problems.append(
                    locations.problem(
                        entry_loc,
                        f"overrides may change values, not add entries: there is no {section}.{entry}"
                        f"{did_you_mean(str(entry), merged.get(section) or {})}",
                    )
                )
                continue
            if not isinstance(values, dict):
                problems.append(locations.problem(entry_loc, "expected a mapping of changed values"))
                continue
            base_entry = merged[section][entry]
            if isinstance(base_entry, dict):
                merged[section][entry] = deep_merge(base_entry, values)
    merged["environments"][env_name] = {k: v for k, v in merged["environments"][env_name].items() if k != "overrides"}
    return problems, (None if problems else merged)


def deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; every other value (lists too) is replaced."""
    result = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _override_problem(locations: Locations, env_loc: Loc, loc: Loc, message: str) -> SpecProblem:
    """Locate a problem of a merged spec at the override that caused it, if any."""
    if len(loc) >= 2 and loc[0] in OVERRIDABLE_SECTIONS:
        for end in range(len(loc), 1, -1):
            candidate = (*env_loc, *loc[:end])
            if locations.has(candidate):
                return SpecProblem(locations.file, locations.line(candidate), dotted((*env_loc, *loc)), message)
    return locations.problem(loc, message)

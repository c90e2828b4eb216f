"""Reading platform.yaml's YAML into plain values, recording where every key and item is.

Duplicate keys, keys YAML 1.1 reads as something else than a string, custom
tags, binary values and control characters are problems here; documents that
expand past :data:`MAX_NODES` values are refused.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml

from batchplane.errors import SpecError, SpecProblem
from batchplane.spec.locations import Loc, Locations, dotted, forbidden

# Aliases may expand a small file into a huge document; stop well before that.
MAX_NODES = 200_000


def parse_yaml(text: str, locations: Locations) -> Any:
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
        self.locations.found.append(self.locations.problem(loc, f"{reason}; quote it: {quoted(written)}"))

    def _check_text(self, text: str, loc: Loc) -> None:
        """NUL and other control characters are errors: AWS and the tools in between drop or refuse them."""
        bad = sorted({c for c in text if forbidden(c)})
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


def quoted(written: str) -> str:
    """``written`` as a double-quoted YAML string (JSON's quoting is valid YAML)."""
    return json.dumps(written, ensure_ascii=False)

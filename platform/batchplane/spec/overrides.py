"""Environment overrides: merging them over the spec and locating what they break.

Only compute, queues and jobs may be overridden, and only entries that exist;
a problem of the merged spec is reported at the override that caused it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from batchplane.errors import SpecProblem
from batchplane.spec.locations import Loc, Locations, dotted
from batchplane.spec.models import OVERRIDABLE_SECTIONS
from batchplane.spec.names import did_you_mean


def apply_overrides(
    document: dict[str, Any], env_name: str, locations: Locations
) -> tuple[list[SpecProblem], dict[str, Any] | None]:
    """The document with one environment's overrides merged in, or None and the problems found."""
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


def override_problem(locations: Locations, env_loc: Loc, loc: Loc, message: str) -> SpecProblem:
    """Locate a problem of a merged spec at the override that caused it, if any."""
    if len(loc) >= 2 and loc[0] in OVERRIDABLE_SECTIONS:
        for end in range(len(loc), 1, -1):
            candidate = (*env_loc, *loc[:end])
            if locations.has(candidate):
                return SpecProblem(locations.file, locations.line(candidate), dotted((*env_loc, *loc)), message)
    return locations.problem(loc, message)

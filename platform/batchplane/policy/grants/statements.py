"""Policy statements as the plan gate compares them, and IAM glob containment.

A statement is normalised (actions lower case, bare account ids as root ARNs,
conditions as sets) so that a planned one can be judged against the ones the
spec produces: :func:`uncovered` names what it grants beyond them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Principal = tuple[str, str]
Condition = tuple[str, str, frozenset[str]]


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised (actions lower case)."""

    effect: str = "Allow"
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    principals: frozenset[Principal] = frozenset()
    conditions: frozenset[Condition] = frozenset()
    sid: str | None = None
    unbounded: tuple[str, ...] = ()
    """NotAction / NotResource / NotPrincipal present: grants without bound."""
    unknown_resources: int = 0
    """Resources known only after apply (planned) or ARNs created in the same plan (expected)."""


def strings(value: Any) -> tuple[str, ...]:
    """A policy value as strings: a list's items, one string, or anything else as its JSON."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (json.dumps(value, sort_keys=True),)


def _principals(value: Any, partition: str) -> frozenset[Principal]:
    if value is None:
        return frozenset()
    if value == "*":
        return frozenset({("AWS", "*")})
    if not isinstance(value, dict):
        return frozenset({("?", json.dumps(value, sort_keys=True))})
    found: set[Principal] = set()
    for kind, ids in value.items():
        for identifier in strings(ids):
            found.add((str(kind), account_arn(identifier, partition)))
    return frozenset(found)


def account_arn(identifier: str, partition: str) -> str:
    """A bare account id names the account's root, as AWS reads it."""
    return f"arn:{partition}:iam::{identifier}:root" if re.fullmatch(r"[0-9]{12}", identifier) else identifier


def _conditions(value: Any) -> frozenset[Condition]:
    found: set[Condition] = set()
    if isinstance(value, dict):
        for test, keys in value.items():
            if isinstance(keys, dict):
                for key, values in keys.items():
                    found.add((str(test).lower(), str(key).lower(), frozenset(strings(values))))
            else:
                found.add((str(test).lower(), "?", frozenset(strings(keys))))
    elif value is not None:
        found.add(("?", "?", frozenset(strings(value))))
    return frozenset(found)


def parse_policy(text: str, partition: str) -> list[Statement]:
    """The statements of a JSON policy document; raises ValueError when it is not one."""
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    raw = document.get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        raise ValueError("Statement is neither an object nor a list")
    statements = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a statement is not an object")
        unbounded = tuple(k for k in ("NotAction", "NotResource", "NotPrincipal") if k in item)
        statements.append(
            Statement(
                effect=str(item.get("Effect", "")),
                actions=tuple(a.lower() for a in strings(item.get("Action"))),
                resources=strings(item.get("Resource")),
                principals=_principals(item.get("Principal"), partition),
                conditions=_conditions(item.get("Condition")),
                sid=item.get("Sid"),
                unbounded=unbounded,
            )
        )
    return statements


# --- IAM glob containment -----------------------------------------------------


def covers(expected: str, planned: str, *, fold: bool = False) -> bool:
    """Whether every string the glob ``planned`` matches is matched by the glob ``expected``.

    Sound, not complete: ``expected`` is matched against ``planned`` read as
    tokens, where a planned ``*`` can only be taken by an expected ``*`` and a
    planned ``?`` by an expected ``?`` or ``*``.
    """
    if fold:
        expected, planned = expected.lower(), planned.lower()
    if "*" not in expected and "?" not in expected:
        return expected == planned
    n, m = len(expected), len(planned)
    # reach[j]: expected[:i] can take planned[:j]
    reach = [True] + [False] * m
    for i in range(n):
        e = expected[i]
        nxt = [False] * (m + 1)
        if e == "*":
            seen = False
            for j in range(m + 1):
                seen = seen or reach[j]
                nxt[j] = seen
        else:
            for j in range(m):
                if reach[j]:
                    p = planned[j]
                    if (e == "?" and p != "*") or (e == p and p not in "*?"):
                        nxt[j + 1] = True
        reach = nxt
    return reach[m]


def _conditions_hold(expected: frozenset[Condition], planned: frozenset[Condition]) -> bool:
    """Every expected condition is in the planned statement, with no other values (conditions AND)."""
    return all(any(t == pt and k == pk and pv <= v for pt, pk, pv in planned) for t, k, v in expected)


def _principal_covered(planned: Principal, expected: frozenset[Principal]) -> bool:
    return planned in expected or (planned[0] == "AWS" and ("AWS", "*") in expected)


def uncovered(planned: Statement, expected: Iterable[Statement], *, resource_policy: bool = False) -> list[str]:
    """What ``planned`` (one Allow statement) grants beyond every expected Allow statement."""
    allows = [e for e in expected if e.effect == "Allow"]
    if planned.unbounded:
        return [f"{', '.join(planned.unbounded)} (unbounded)"]
    extra: list[str] = []
    candidates = [e for e in allows if _conditions_hold(e.conditions, planned.conditions)]
    if resource_policy:
        for principal in sorted(planned.principals):
            if not any(_principal_covered(principal, e.principals) for e in candidates):
                loose = any(_principal_covered(principal, e.principals) for e in allows)
                guard = " without the conditions the spec sets" if loose else ""
                extra.append(f"principal {principal[0]}:{principal[1]}{guard}")
        if extra:
            return extra  # its grants are extra because of who receives them: one finding says so
        candidates = [e for e in candidates if all(_principal_covered(p, e.principals) for p in planned.principals)]
    if planned.unknown_resources:
        fits = [
            e
            for e in candidates
            if e.unknown_resources >= planned.unknown_resources
            and e.sid == planned.sid
            and set(e.actions) == set(planned.actions)
            and all(any(covers(x, r) for x in e.resources) for r in planned.resources)
        ]
        if not fits:
            extra.append(f"{planned.unknown_resources} resource(s) unknown at plan time for {list(planned.actions)}")
    # A statement whose resources are all unknown was judged above, against the expected ARNs.
    resources = planned.resources or (() if planned.unknown_resources else ("",))
    for action in planned.actions:
        for resource in resources:
            if not any(
                any(covers(a, action, fold=True) for a in e.actions)
                and any(covers(x, resource) for x in (e.resources or ("",)))
                for e in candidates
            ):
                extra.append(f"{action} on {resource or '(this resource)'}")
    return extra

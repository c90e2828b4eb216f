"""The wording of schema problems: pydantic's validation errors as a human reads them.

Unknown keys get a "did you mean" and the keys allowed there, patterns get a
sentence instead of a regular expression, and values YAML 1.1 turned into
something else than the text as written get a "quote it".
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from batchplane.spec.base import NAME_PATTERN
from batchplane.spec.locations import Loc
from batchplane.spec.models import Platform
from batchplane.spec.yaml_source import quoted

_FRIENDLY_PATTERNS = {
    NAME_PATTERN: "must be lowercase letters, digits and '-', start with a letter, at most 32 characters",
    r"^[0-9]{12}$": 'must be a 12-digit AWS account id, quoted ("111111111111")',
    r"^[a-z]{2}(-[a-z]+)+-[0-9]$": "must be an AWS region such as eu-west-1",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "must be a variable name (letters, digits, _; not starting with a digit)",
    r"^[A-Za-z0-9_]+$": "must be letters, digits and _ only",
}


def error_message(error: Mapping[str, Any], loc: Loc) -> str:
    """One pydantic error at ``loc`` (relative to the platform) in words."""
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


def quote_hint(error: Mapping[str, Any], written: str | None) -> str:
    """'quote it' with the text as written: the parsed value (012 -> 10, no -> False) would change it."""
    if written is None or error["type"] not in ("string_type", "literal_error"):
        return ""
    if isinstance(error.get("input"), str | dict | list):
        return ""
    if written == "":
        return ' (an empty value is null: write "" for an empty string)'
    parsed = error.get("input")
    shown = "" if written == str(parsed) else f"written {written}; "
    return f" ({shown}quote it: {quoted(written)})"


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

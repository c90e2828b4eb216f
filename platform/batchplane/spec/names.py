"""How spec checks and commands name what the spec does not have: ``unknown_name`` and ``did_you_mean``."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable


def unknown_name(what: str, ref: str, known: Collection[str]) -> str:
    """``no queue named 'nightly' (did you mean 'night'?) (known: ...)``."""
    names = ", ".join(sorted(known)) or "none defined"
    return f"no {what} named {ref!r}{did_you_mean(ref, known)} (known: {names})"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'prod'?)`` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

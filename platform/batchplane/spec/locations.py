"""Where things are in platform.yaml: paths into the document and their lines.

A :data:`Loc` is a path of keys and indexes into the document; :class:`Locations`
maps each to the line and column a human edits, and :func:`dotted` writes a path
the way problems report it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from batchplane.errors import SpecProblem

Loc = tuple[str | int, ...]

# Tab and newline are ordinary in text (block scalars, commands); every other C0/C1 control
# character, DEL and lone surrogates (which cannot even be written as UTF-8) are refused.
_ALLOWED_CONTROLS = frozenset("\t\n")


def forbidden(char: str) -> bool:
    """Whether ``char`` is a control character the spec refuses in its text."""
    return char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs")


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


def dotted(loc: Loc) -> str:
    """``('jobs', 'a', 'retry', 'on_exit', 0)`` -> ``jobs.a.retry.on_exit[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            # A key with control characters is reported, not replayed to the terminal.
            name = "".join(f"\\u{ord(c):04x}" if forbidden(c) else c for c in str(part))
            text += f".{name}" if text else name
    return text

"""The local AWS's schedule clock: real time, optionally accelerated or moved forward for tests and demos.

Scheduler schedules fire, and queue time limits act, by this clock. It starts at the real time and runs
``scale`` times faster (``BATCHPLANE_LOCAL_TIME_SCALE`` in the server's
environment, 1 by default); ``advance`` jumps it forward. Only schedules and
job state time limits read it: job timestamps and every other service keep the
real time.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

SCALE_VARIABLE = "BATCHPLANE_LOCAL_TIME_SCALE"


class Clock:
    """Virtual time = anchor + (real elapsed since the anchor) x scale."""

    def __init__(self, scale: float = 1.0, real: float | None = None) -> None:
        if scale <= 0:
            raise ValueError(f"the time scale must be positive, not {scale}")
        self._lock = threading.Lock()
        self._real_anchor = time.time() if real is None else real
        self._virtual_anchor = self._real_anchor
        self._scale = scale

    @property
    def scale(self) -> float:
        return self._scale

    def now(self, real: float | None = None) -> datetime:
        """The virtual time (UTC) at real time ``real`` (now by default)."""
        with self._lock:
            elapsed = (time.time() if real is None else real) - self._real_anchor
            return datetime.fromtimestamp(self._virtual_anchor + elapsed * self._scale, UTC)

    def set_scale(self, scale: float, real: float | None = None) -> None:
        """Run ``scale`` times faster than real time from now on (the virtual time does not jump)."""
        if scale <= 0:
            raise ValueError(f"the time scale must be positive, not {scale}")
        real = time.time() if real is None else real
        current = self.now(real).timestamp()
        with self._lock:
            self._real_anchor, self._virtual_anchor, self._scale = real, current, scale

    def advance(self, seconds: float) -> None:
        """Jump the virtual time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._virtual_anchor += seconds


CLOCK = Clock()
"""The local AWS's one clock, read by schedules and queue time limits."""


def scale_from_environment(environ: dict[str, str] | None = None) -> float:
    """``BATCHPLANE_LOCAL_TIME_SCALE`` as a positive number (1 when unset)."""
    text = (os.environ if environ is None else environ).get(SCALE_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError as error:
        raise ValueError(f"{SCALE_VARIABLE} must be a positive number, not {text!r}") from error
    if scale <= 0:
        raise ValueError(f"{SCALE_VARIABLE} must be a positive number, not {text!r}")
    return scale

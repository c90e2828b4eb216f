"""Clients of the local AWS's own controls: fire a schedule now, accelerate or move the schedule clock.

They call the HTTP controls that :mod:`batchplane.local.scheduler_fidelity`
adds to moto's API, on a running emulator (``emulator.require_emulator(repo)``
finds it). A control that answers with an error is a ToolError naming it.
"""

from __future__ import annotations

import json
from typing import Any

from batchplane.errors import BatchplaneError, ExitCode, ToolError
from batchplane.local.emulator import TOOL
from batchplane.spec.jobs import parse_duration
from batchplane.spec.loader import Spec
from batchplane.spec.names import unknown_name

FIRE = "/moto-api/batchplane/schedules/fire"
CLOCK = "/moto-api/batchplane/clock"


def _post(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import urllib.error  # late: http.client costs ~60 ms at start-up
    import urllib.request

    request = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", exc.reason)
        except ValueError:
            message = exc.reason
        raise ToolError(TOOL, [], f"{path} answered {exc.code}: {message}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ToolError(TOOL, [], f"no answer from {endpoint}{path}: {exc}") from exc


def fire_schedule(
    endpoint: str, name: str, group: str = "default", region: str | None = None, account: str | None = None
) -> dict[str, Any]:
    """Invoke schedule ``group/name``'s target now; returns ``{"schedule": ARN, "started": job id or execution}``."""
    body: dict[str, Any] = {"name": name, "group": group}
    if region is not None:
        body["region"] = region
    if account is not None:
        body["account"] = account
    return _post(endpoint, FIRE, body)


def move_clock(endpoint: str, scale: float | None = None, advance_seconds: float | None = None) -> dict[str, Any]:
    """Accelerate (``scale`` times real time) and/or advance the schedule clock; returns ``{"now", "scale"}``."""
    body: dict[str, Any] = {}
    if scale is not None:
        body["scale"] = scale
    if advance_seconds is not None:
        body["advance_seconds"] = advance_seconds
    return _post(endpoint, CLOCK, body)


def duration_seconds(text: str) -> int:
    """Seconds in ``30m``, ``2h``, ``1d``; a malformed duration is a usage error (exit 2)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ScheduleUsageError(f"--advance: {exc}") from None


class ScheduleUsageError(BatchplaneError):
    """A name that is neither a scheduled job nor a scheduled pipeline of the spec (exit 2)."""

    exit_code = ExitCode.USAGE


def schedule_name(spec: Spec, environment: str, name: str) -> str:
    """The rendered schedule of job or pipeline ``name`` in ``environment`` (``<platform>-<env>-<name>``)."""
    platform = spec.env(environment)
    schedules: dict[str, str | None] = {n: job.schedule for n, job in platform.jobs.items()}
    schedules.update((n, pipeline.schedule) for n, pipeline in platform.pipelines.items())
    if name not in schedules:
        raise ScheduleUsageError(unknown_name("job or pipeline", name, schedules))
    if schedules[name] is None:
        with_schedules = sorted(n for n, schedule in schedules.items() if schedule is not None)
        raise ScheduleUsageError(f"{name} has no schedule (scheduled: {', '.join(with_schedules) or 'none'})")
    return f"{platform.name}-{environment}-{name}"

"""EventBridge Scheduler schedules that fire on the local AWS, with controls to fire one now or move time.

moto stores schedules and never invokes them. :func:`install` starts, in the
server process, a thread that reads every enabled schedule of every account and
region each second and invokes its target when its expression
(:mod:`batchplane.local.schedules`) comes due by the :mod:`clock
<batchplane.local.clock>`. Targets invoked: the universal
``aws-sdk:batch:submitJob`` (input: the SubmitJob request) and
``aws-sdk:sfn:startExecution``, state machines, and SQS queues; others are
logged and skipped. Two HTTP controls join moto's own configuration API:

- ``POST /moto-api/batchplane/schedules/fire`` ``{"name": N, "group": G,
  "region": R, "account": A}`` invokes a schedule's target now;
- ``GET|POST /moto-api/batchplane/clock`` ``{"scale": S, "advance_seconds": N}``
  reads, accelerates or moves forward the schedule clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from batchplane.local.clock import CLOCK, scale_from_environment
from batchplane.local.schedules import ExpressionError, next_fire
from batchplane.local.targets import (
    BATCH_SUBMIT_JOB,
    SFN_START_EXECUTION,
    decode_input,
    scheduler_batch_submission,
)

logger = logging.getLogger(__name__)

FIRE_PATH = "/moto-api/batchplane/schedules/fire"
CLOCK_PATH = "/moto-api/batchplane/clock"
TICK_SECONDS = 1.0
JSON = {"Content-Type": "application/json"}

_next: dict[tuple[str, str, str], datetime | None] = {}
_anchors: dict[str, datetime] = {}
_lock = threading.Lock()


def _moment(value: Any) -> datetime | None:
    """A schedule's StartDate/EndDate as moto stores it (epoch seconds or ISO text), as UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def schedules() -> Iterator[tuple[str, str, Any, Any]]:
    """(account, region, backend, schedule) for every schedule moto holds."""
    from moto.scheduler.models import scheduler_backends

    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    yield account, region, backend, schedule


def invoke(account: str, region: str, target: dict[str, Any]) -> str:
    """Invoke a Scheduler target as AWS would; returns what it started (a job id, an execution ARN...)."""
    arn = str(target["Arn"])
    body = decode_input(target.get("Input"))
    if arn.endswith(":" + BATCH_SUBMIT_JOB):
        from moto.batch.models import batch_backends

        _, job_id, _ = batch_backends[account][region].submit_job(**scheduler_batch_submission(body).kwargs())
        return str(job_id)
    if arn.endswith(":" + SFN_START_EXECUTION) or ":states:" in arn:
        from moto.stepfunctions.models import stepfunctions_backends

        if ":states:" in arn:
            machine, name, document = arn, "", target.get("Input") or "{}"
        else:
            machine, name, document = body["StateMachineArn"], body.get("Name", ""), body.get("Input", "{}")
        if not isinstance(document, str):
            document = json.dumps(document)
        execution = stepfunctions_backends[account][region].start_execution(machine, name, document)
        return str(execution.execution_arn)
    if ":sqs:" in arn:
        from moto.sqs.models import sqs_backends

        queue = arn.rsplit(":", 1)[-1]
        sqs_backends[account][region].send_message(queue_name=queue, message_body=target.get("Input") or "")
        return arn
    raise ValueError(f"target {arn} is not one the local AWS invokes (batch:submitJob, sfn:startExecution, sqs)")


def due(schedule: Any, now: datetime) -> bool:
    """Whether ``schedule`` comes due at ``now`` (and, if so, when it comes due next)."""
    if schedule.state != "ENABLED":
        return False
    end = _moment(schedule.end_date)
    if end is not None and now > end:
        return False
    start = _moment(schedule.start_date)
    anchor = _anchors.setdefault(schedule.arn, start if start is not None else now)
    key = (schedule.arn, schedule.schedule_expression, schedule.schedule_expression_timezone)
    if key not in _next:
        _next[key] = next_fire(schedule.schedule_expression, now, anchor, schedule.schedule_expression_timezone)
    upcoming = _next[key]
    if upcoming is None or upcoming > now:
        return False
    _next[key] = next_fire(schedule.schedule_expression, now, anchor, schedule.schedule_expression_timezone)
    return True


def tick(now: datetime) -> list[str]:
    """Invoke every schedule due at ``now``; returns what was started."""
    started = []
    with _lock:
        for account, region, backend, schedule in schedules():
            try:
                if not due(schedule, now):
                    continue
                started.append(invoke(account, region, schedule.target))
                if schedule.schedule_expression.startswith("at(") and schedule.action_after_completion == "DELETE":
                    backend.delete_schedule(schedule.group_name, schedule.name)
            except (ExpressionError, ValueError, KeyError) as error:
                logger.error("schedule %s did not fire: %s", schedule.arn, error)
            except Exception:
                logger.exception("schedule %s did not fire", schedule.arn)
    return started


def _loop() -> None:
    while True:
        tick(CLOCK.now())
        time.sleep(TICK_SECONDS)


def _body(request: Any) -> dict[str, Any]:
    raw = request.get_data(as_text=True) if hasattr(request, "get_data") else (request.body or "")
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _reply(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, JSON, json.dumps(payload).encode()


def fire_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    """``POST /moto-api/batchplane/schedules/fire``: invoke one schedule's target now."""
    try:
        body = _body(request)
        name, group = body["name"], body.get("group") or "default"
    except (ValueError, KeyError):
        return _reply(400, {"message": 'expected {"name": SCHEDULE, "group": GROUP, "region": R, "account": A}'})
    for account, region, _backend, schedule in schedules():
        if schedule.name != name or schedule.group_name != group:
            continue
        if body.get("region") not in (None, region) or body.get("account") not in (None, account):
            continue
        try:
            started = invoke(account, region, schedule.target)
        except Exception as error:
            return _reply(422, {"message": f"schedule {schedule.arn} could not fire: {error}"})
        return _reply(200, {"schedule": schedule.arn, "started": started})
    return _reply(404, {"message": f"no schedule {group}/{name}"})


def clock_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    """``GET|POST /moto-api/batchplane/clock``: read, accelerate (``scale``) or advance the schedule clock."""
    if request.method == "POST":
        try:
            body = _body(request)
            if "scale" in body:
                CLOCK.set_scale(float(body["scale"]))
            if "advance_seconds" in body:
                CLOCK.advance(float(body["advance_seconds"]))
        except (ValueError, TypeError) as error:
            return _reply(400, {"message": str(error)})
    return _reply(200, {"now": CLOCK.now().isoformat(), "scale": CLOCK.scale})


def install() -> None:
    """Register the controls on moto's API and start the schedule thread."""
    from moto.moto_api._internal import urls

    urls.url_paths["{0}" + FIRE_PATH] = fire_response
    urls.url_paths["{0}" + CLOCK_PATH] = clock_response
    CLOCK.set_scale(scale_from_environment())
    threading.Thread(target=_loop, name="batchplane-schedules", daemon=True).start()

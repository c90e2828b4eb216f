"""Job queues' ``jobStateTimeLimitActions`` on the local AWS: stored, described, and applied.

moto drops the queue's time limit actions (so Terraform's
``job_state_time_limit_action`` would show a change after every apply).
:func:`install` wraps, in the server process, the CreateJobQueue and
UpdateJobQueue handlers to keep them on the queue and ``JobQueue.describe`` to
return them, and starts a thread that applies them: a job RUNNABLE for longer
than ``maxTimeSeconds`` by the local clock (:mod:`batchplane.local.clock`) is
cancelled with the action's ``reason`` as its status reason. A job is held
RUNNABLE locally only while none of its queue's compute environments is
enabled (:mod:`batchplane.local.batch_fidelity`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from moto.batch import models as batch_models
from moto.batch import responses as batch_responses

from batchplane.local.clock import CLOCK

logger = logging.getLogger(__name__)

ATTRIBUTE = "job_state_time_limit_actions"
PARAMETER = "jobStateTimeLimitActions"
TICK_SECONDS = 1.0

_create = batch_responses.BatchResponse.createjobqueue
_update = batch_responses.BatchResponse.updatejobqueue
_describe = batch_models.JobQueue.describe


def expired_action(
    actions: Iterable[dict[str, Any]], status: str | None, since: datetime | None, now: datetime
) -> dict[str, Any] | None:
    """The first CANCEL action whose state the job has been in for longer than its ``maxTimeSeconds``."""
    if since is None:
        return None
    for action in actions:
        if str(action.get("action", "")).upper() != "CANCEL" or action.get("state") != status:
            continue
        if now - since >= timedelta(seconds=int(action.get("maxTimeSeconds", 0))):
            return action
    return None


def createjobqueue(response: Any) -> str:
    body: str = _create(response)
    queue = response.batch_backend.get_job_queue(response._get_param("jobQueueName"))
    if queue is not None:
        setattr(queue, ATTRIBUTE, response._get_param(PARAMETER) or [])
    return body


def updatejobqueue(response: Any) -> str:
    body: str = _update(response)
    actions = response._get_param(PARAMETER)
    queue = response.batch_backend.get_job_queue(response._get_param("jobQueue"))
    if queue is not None and actions is not None:
        setattr(queue, ATTRIBUTE, actions)
    return body


def describe(queue: Any) -> dict[str, Any]:
    result: dict[str, Any] = _describe(queue)
    result[PARAMETER] = getattr(queue, ATTRIBUTE, [])
    return result


def apply_time_limits(now: datetime) -> list[str]:
    """Cancel every job past its queue's time limit at ``now``; returns their ids."""
    from moto.batch.models import batch_backends

    cancelled = []
    for regions in list(batch_backends.values()):
        for backend in list(regions.values()):
            for queue in list(backend._job_queues.values()):
                actions = getattr(queue, ATTRIBUTE, [])
                if not actions:
                    continue
                for job in list(queue.jobs):
                    if job.job_stopped or job.stop:
                        continue
                    action = expired_action(actions, job.status, getattr(job, "runnable_since", None), now)
                    if action is not None:
                        backend.cancel_job(job.job_id, str(action.get("reason") or "time limit"))
                        cancelled.append(job.job_id)
    return cancelled


def _loop() -> None:
    while True:
        try:
            apply_time_limits(CLOCK.now())
        except Exception:
            logger.exception("job state time limits could not be applied")
        time.sleep(TICK_SECONDS)


def install() -> None:
    """Keep, describe and apply queues' time limit actions."""
    setattr(batch_responses.BatchResponse, "createjobqueue", createjobqueue)  # noqa: B010
    setattr(batch_responses.BatchResponse, "updatejobqueue", updatejobqueue)  # noqa: B010
    setattr(batch_models.JobQueue, "describe", describe)  # noqa: B010
    threading.Thread(target=_loop, name="batchplane-time-limits", daemon=True).start()

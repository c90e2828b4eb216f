"""EventBridge rule targets moto does not deliver to: Batch job queues and Step Functions state machines.

moto's ``Rule.send_to_targets`` delivers to SQS, log groups, event buses and API
destinations, and raises on any other target (which, for S3's own events, it
swallows: the job an upload should start never starts). :func:`install` wraps
that one method in the server process: targets whose ARN is a Batch job queue
submit a job (:func:`batchplane.local.targets.rule_batch_submission`), targets
that are a state machine start an execution with the input as its input; every
other target still goes to moto. The target's input is built as AWS builds it:
the input transformer's output, else the constant ``Input``, else the event.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any, cast

from moto.core.utils import unix_time
from moto.events import models as events_models
from moto.events.utils import EventMessageType, EventTemplateParser
from moto.utilities.arns import parse_arn

from batchplane.local.targets import decode_input, rule_batch_submission

logger = logging.getLogger(__name__)

_send_to_targets = events_models.Rule.send_to_targets


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a rule target receives for ``event``: transformed input, constant input, or the event."""
    transformer = target.get("InputTransformer")
    if transformer:
        # moto's S3 notifications build events without the ingestion time its parser reads.
        event = {"ingestion-time": unix_time(), **event}
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(EventMessageType, event),
        )
    if target.get("Input") is not None:
        return decode_input(target["Input"])
    return event


def is_ours(target: dict[str, Any]) -> bool:
    """Batch job queue and state machine targets, the ones moto cannot deliver to."""
    arn = str(target.get("Arn", ""))
    return arn.startswith("arn:") and ((":batch:" in arn and ":job-queue/" in arn) or ":states:" in arn)


def deliver(target: dict[str, Any], event: dict[str, Any]) -> None:
    """Submit the Batch job or start the execution ``target`` asks for."""
    arn = parse_arn(target["Arn"])
    body = target_input(target, event)
    if arn.service == "batch":
        from moto.batch.models import batch_backends

        submission = rule_batch_submission(target, body)
        batch_backends[arn.account][arn.region].submit_job(**submission.kwargs())
    else:
        from moto.stepfunctions.models import stepfunctions_backends

        document = body if isinstance(body, str) else json.dumps(body, default=str)
        stepfunctions_backends[arn.account][arn.region].start_execution(target["Arn"], "", document)


def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
    """moto's delivery for its targets; Batch and Step Functions targets delivered here."""
    ours = [t for t in rule.targets if is_ours(t)]
    if not ours:
        _send_to_targets(rule, original_event, transform_input)
        return
    others = [t for t in rule.targets if not is_ours(t)]
    if others:
        view = copy.copy(rule)
        view.targets = others
        _send_to_targets(view, original_event, transform_input)
    if getattr(rule, "state", "ENABLED") != "ENABLED" or not rule.event_pattern.matches_event(original_event):
        return
    for target in ours:
        try:
            deliver(target, original_event)
        except Exception:  # asynchronous on AWS: a failed delivery never fails the event's producer
            logger.exception("rule %s could not deliver to target %s", rule.name, target.get("Id"))


def install() -> None:
    """Wrap moto's ``Rule.send_to_targets`` with :func:`send_to_targets`."""
    setattr(events_models.Rule, "send_to_targets", send_to_targets)  # noqa: B010

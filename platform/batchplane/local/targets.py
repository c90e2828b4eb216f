"""What an EventBridge rule or Scheduler target asks of Batch or Step Functions (pure request building).

An EventBridge rule target that is a Batch job queue submits a job with its
``BatchParameters`` (job definition, job name, array size, attempts); the input
it receives (the event, the target's constant ``Input`` or its input
transformer's output) contributes the job's ``Parameters`` and
``ContainerOverrides``. A Scheduler universal target ``aws-sdk:batch:submitJob``
carries the whole SubmitJob request, in the SDK's PascalCase, as its input.
Both become keyword arguments of moto's ``BatchBackend.submit_job``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BATCH_SUBMIT_JOB = "aws-sdk:batch:submitJob"
SFN_START_EXECUTION = "aws-sdk:sfn:startExecution"


@dataclass(frozen=True)
class Submission:
    """A SubmitJob request: what moto's ``submit_job`` takes."""

    job_name: str
    job_definition: str
    job_queue: str
    array_properties: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, str] | None = None
    container_overrides: dict[str, Any] | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "job_def_id": self.job_definition,
            "job_queue": self.job_queue,
            "array_properties": self.array_properties,
            "parameters": self.parameters,
            "container_overrides": self.container_overrides,
        }


def _lower_first(value: Any) -> Any:
    """SDK PascalCase keys to the wire's camelCase, recursively (``ContainerOverrides`` -> ``containerOverrides``)."""
    if isinstance(value, Mapping):
        return {(k[:1].lower() + k[1:]): _lower_first(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_first(item) for item in value]
    return value


def _array(size: Any) -> dict[str, int]:
    return {} if size in (None, 0, "0") else {"size": int(size)}


def decode_input(text: str | None) -> Any:
    """A target's input: JSON when it parses, else the text itself (None stays None)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def rule_batch_submission(target: Mapping[str, Any], target_input: Any) -> Submission:
    """The job an EventBridge rule's Batch queue target submits for an event turned into ``target_input``."""
    batch = target.get("BatchParameters") or {}
    if "JobDefinition" not in batch or "JobName" not in batch:
        raise ValueError(f"target {target.get('Id')!r} has no BatchParameters JobDefinition and JobName")
    body = target_input if isinstance(target_input, Mapping) else {}
    parameters = body.get("Parameters")
    overrides = body.get("ContainerOverrides")
    return Submission(
        job_name=str(batch["JobName"]),
        job_definition=str(batch["JobDefinition"]),
        job_queue=str(target["Arn"]),
        array_properties=_array((batch.get("ArrayProperties") or {}).get("Size")),
        parameters={str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, Mapping) else None,
        container_overrides=_lower_first(overrides) if isinstance(overrides, Mapping) else None,
    )


def scheduler_batch_submission(target_input: Any) -> Submission:
    """The job a Scheduler ``aws-sdk:batch:submitJob`` target submits: its input is the SubmitJob request."""
    if not isinstance(target_input, Mapping) or not {"JobName", "JobQueue", "JobDefinition"} <= set(target_input):
        raise ValueError("a batch:submitJob schedule input needs JobName, JobQueue and JobDefinition")
    parameters = target_input.get("Parameters")
    overrides = target_input.get("ContainerOverrides")
    return Submission(
        job_name=str(target_input["JobName"]),
        job_definition=str(target_input["JobDefinition"]),
        job_queue=str(target_input["JobQueue"]),
        array_properties=_array((target_input.get("ArrayProperties") or {}).get("Size")),
        parameters={str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, Mapping) else None,
        container_overrides=_lower_first(overrides) if isinstance(overrides, Mapping) else None,
    )


def arn_prefix_name(identifier: str) -> str | None:
    """The job definition name of an ARN without revision (Terraform's ``arn_prefix``), else None."""
    if identifier.startswith("arn:") and identifier.count(":") == 5 and ":job-definition/" in identifier:
        return identifier.rsplit("/", 1)[-1]
    return None

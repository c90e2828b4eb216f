"""A pipeline of the spec -> its Amazon States Language definition and its root values.

The definition is built here, in Python, from the step DAG, so that it is
byte-deterministic and can be validated (tests run statelint on it) before
Terraform sees it. Its shape:

- Steps run in *waves*: a step's wave is one more than the latest wave of the
  steps it depends on. Each wave is one ``Parallel`` state with a branch per
  step, so independent steps run at the same time, and a step starts only
  after every step of the previous wave has ended (a superset of its own
  dependencies). Between array steps this also fulfils the element-by-element
  (N_TO_N) contract: child *i* starts after child *i* (indeed every child) of
  the step it depends on succeeded.
- Each step is a ``Task`` on ``arn:aws:states:::batch:submitJob.sync`` with the
  job's definition and queue ARNs, the step's parameters, ``ArrayProperties``
  for array steps and ``ShareIdentifier`` when the job has a share. Retries are
  the job definition's own retry strategy; the state machine adds none.
- ``on_failure: stop``: a failing step ends in a ``Fail`` state naming it
  (error ``batchplane.StepFailed``); the Parallel fails, the execution fails and
  no later wave runs. Steps of the same wave already running are not waited for;
  their Batch jobs run to their end (the role holds no ``batch:TerminateJob``).
- ``on_failure: continue``: a failing step records ``FAILED``; a step whose
  dependencies did not all succeed is ``SKIPPED`` without running; every other
  step runs. After the last wave the execution fails naming the first failed
  step (in wave order), or succeeds.

Every branch ends with ``{"step": NAME, "status": SUCCEEDED|FAILED|SKIPPED}``;
wave *n*'s results are at ``$.wave<n>`` of the execution's state.
"""

from __future__ import annotations

import json
from typing import Any

from batchplane.spec.access import partition_of
from batchplane.spec.models import Platform
from batchplane.spec.pipelines import Pipeline

BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
STEP_FAILED = "batchplane.StepFailed"


def waves(pipeline: Pipeline) -> list[list[str]]:
    """The steps grouped by wave, each wave in spec order (the pipeline must be acyclic)."""
    depth: dict[str, int] = {}

    def wave_of(step: str) -> int:
        if step not in depth:
            depth[step] = 1 + max((wave_of(d) for d in pipeline.steps[step].depends_on), default=-1)
        return depth[step]

    for step in pipeline.steps:
        wave_of(step)
    grouped: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for step in pipeline.steps:
        grouped[depth[step]].append(step)
    return grouped


def _task(platform: Platform, env: str, name: str, pipeline: Pipeline, step_name: str) -> dict[str, Any]:
    step = pipeline.steps[step_name]
    job = platform.jobs[step.job]
    batch = f"arn:{partition_of(platform.region)}:batch:{platform.region}:{platform.environments[env].account_id}"
    prefix = f"{platform.name}-{env}"
    parameters: dict[str, Any] = {
        "JobName": f"{prefix}-{name}-{step_name}",
        "JobDefinition": f"{batch}:job-definition/{prefix}-{step.job}",
        "JobQueue": f"{batch}:job-queue/{prefix}-{job.queue}",
    }
    if step.parameters:
        parameters["Parameters"] = dict(step.parameters)
    if step.array_size is not None:
        parameters["ArrayProperties"] = {"Size": step.array_size}
    if job.share is not None:
        parameters["ShareIdentifier"] = job.share
    return {
        "Type": "Task",
        "Comment": f"job {step.job}",
        "Resource": BATCH_SUBMIT_SYNC,
        "Parameters": parameters,
        "ResultSelector": {"step": step_name, "status": "SUCCEEDED"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": f"{step_name} failed"}],
        "End": True,
    }


def _cause(pipeline: Pipeline, step_name: str) -> str:
    return f"step {step_name} (job {pipeline.steps[step_name].job}) failed"


def _branch(
    platform: Platform, env: str, name: str, pipeline: Pipeline, step_name: str, where: dict[str, str]
) -> dict[str, Any]:
    states: dict[str, Any] = {step_name: _task(platform, env, name, pipeline, step_name)}
    if pipeline.on_failure == "stop":
        states[f"{step_name} failed"] = {"Type": "Fail", "Error": STEP_FAILED, "Cause": _cause(pipeline, step_name)}
        return {"StartAt": step_name, "States": states}
    states[f"{step_name} failed"] = {
        "Type": "Pass",
        "Parameters": {"step": step_name, "status": "FAILED", "error.$": "$.Error", "cause.$": "$.Cause"},
        "End": True,
    }
    dependencies = pipeline.steps[step_name].depends_on
    if not dependencies:
        return {"StartAt": step_name, "States": states}
    unmet = [{"Not": {"Variable": f"{where[d]}.status", "StringEquals": "SUCCEEDED"}} for d in dependencies]
    rule = unmet[0] if len(unmet) == 1 else {"Or": unmet}
    states[f"{step_name} ready?"] = {
        "Type": "Choice",
        "Choices": [{**rule, "Next": f"{step_name} skipped"}],
        "Default": step_name,
    }
    states[f"{step_name} skipped"] = {"Type": "Pass", "Result": {"step": step_name, "status": "SKIPPED"}, "End": True}
    return {"StartAt": f"{step_name} ready?", "States": states}


def definition(platform: Platform, env: str, name: str) -> dict[str, Any]:
    """The state machine definition of pipeline ``name`` in environment ``env``."""
    pipeline = platform.pipelines[name]
    grouped = waves(pipeline)
    where: dict[str, str] = {}
    states: dict[str, Any] = {}
    for number, wave in enumerate(grouped, start=1):
        state: dict[str, Any] = {
            "Type": "Parallel",
            "Comment": ", ".join(wave),
            "Branches": [_branch(platform, env, name, pipeline, step, where) for step in wave],
            "ResultPath": f"$.wave{number}",
        }
        if number < len(grouped):
            state["Next"] = f"wave {number + 1}"
        elif pipeline.on_failure == "stop":
            state["End"] = True
        else:
            state["Next"] = "outcome"
        states[f"wave {number}"] = state
        where.update({step: f"$.wave{number}[{index}]" for index, step in enumerate(wave)})
    if pipeline.on_failure == "continue":
        ordered = [step for wave in grouped for step in wave]
        states["outcome"] = {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"{where[step]}.status", "StringEquals": "FAILED", "Next": f"failed at {step}"}
                for step in ordered
            ],
            "Default": "succeeded",
        }
        for step in ordered:
            states[f"failed at {step}"] = {
                "Type": "Fail",
                "Error": STEP_FAILED,
                "Cause": f"{_cause(pipeline, step)}; the steps that depend on it were skipped",
            }
        states["succeeded"] = {"Type": "Succeed"}
    return {
        "Comment": f"Pipeline {name} (on_failure: {pipeline.on_failure}), rendered by batchplane",
        "StartAt": "wave 1",
        "States": states,
    }


def pipeline_values(platform: Platform, env: str, name: str) -> dict[str, Any]:
    """The pipeline's entry in an environment root's ``terraform.tfvars.json``."""
    pipeline = platform.pipelines[name]
    jobs = list(dict.fromkeys(step.job for step in pipeline.steps.values()))
    return {
        "definition": json.dumps(definition(platform, env, name), sort_keys=True, ensure_ascii=False),
        "jobs": jobs,
        "queues": list(dict.fromkeys(platform.jobs[job].queue for job in jobs)),
        "schedule": pipeline.schedule,
        "s3_triggers": [
            {"bucket": t.s3.bucket, "prefix": t.s3.prefix, "suffix": t.s3.suffix} for t in pipeline.triggers
        ],
    }


# Values of a definition that batchplane derives from "<platform>-<environment>".
_DERIVED_NAMES = ("JobName", "JobDefinition", "JobQueue")


def neutral_definition(text: str, platform: str, env: str, placeholder: str) -> Any:
    """A rendered definition (JSON text) as data, ``<platform>-<env>-`` in its derived job names and ARNs
    replaced by ``<platform>-<placeholder>-`` (values a user wrote are kept)."""
    return _replace_derived(json.loads(text), f"{platform}-{env}-", f"{platform}-{placeholder}-")


def _replace_derived(value: Any, real: str, neutral: str) -> Any:
    if isinstance(value, list):
        return [_replace_derived(v, real, neutral) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        key: item.replace(real, neutral)
        if key in _DERIVED_NAMES and isinstance(item, str)
        else _replace_derived(item, real, neutral)
        for key, item in value.items()
    }

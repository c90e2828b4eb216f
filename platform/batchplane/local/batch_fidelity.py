"""Batch jobs on the local AWS as AWS runs them: job environment, retries, array parents, state change events.

moto runs each job as a thread (``moto.batch.models.Job``) that starts its
container on Docker. :func:`install` swaps that class, in the server process,
for :class:`FidelityJob`, a small subclass (moto has no hook for any of this):

- the container gets the variables AWS Batch sets: ``AWS_BATCH_JOB_ID``,
  ``AWS_BATCH_JOB_ATTEMPT``, ``AWS_BATCH_JQ_NAME``, ``AWS_BATCH_CE_NAME``, and in
  array children ``AWS_BATCH_JOB_ARRAY_INDEX`` and ``AWS_BATCH_JOB_ARRAY_SIZE``;
- a failed attempt is evaluated with the job definition's retry strategy
  (:mod:`batchplane.local.retries`): the job goes back to RUNNABLE and runs again
  until it succeeds, a rule says EXIT or its attempts are spent; every attempt is
  recorded in ``attempts`` with its exit code and status reason;
- a job stays RUNNABLE while none of its queue's compute environments is
  enabled, and a job cancelled while RUNNABLE is FAILED at once (moto would
  wait for it to start first);
- an array parent whose children are all done is FAILED when one of them failed
  (moto only ever marks it SUCCEEDED);
- a job definition named by its ARN without revision (Terraform's
  ``arn_prefix``, which the job module's schedules and rules use) is its latest
  revision, as on AWS;
- every status change after submission is published to the default event bus of
  the job's account and region as ``Batch Job State Change`` from ``aws.batch``,
  with the job as DescribeJobs returns it as detail.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

from moto.batch import models as batch_models
from moto.batch.utils import JobStatus
from moto.moto_api._internal.managed_state_model import ManagedState

from batchplane.local.clock import CLOCK
from batchplane.local.retries import AttemptOutcome, should_retry
from batchplane.local.targets import arn_prefix_name

logger = logging.getLogger(__name__)

# moto's status property (ManagedState's): FidelityJob's reads and writes go through it.
_MANAGED_STATUS: property = vars(ManagedState)["status"]

DETAIL_TYPE = "Batch Job State Change"
SOURCE = "aws.batch"
# What AWS Batch says of a job whose container stopped with a non-zero exit code.
CONTAINER_EXITED = "Essential container in task exited"
DONE = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)


def state_change_entry(detail: dict[str, Any]) -> dict[str, Any]:
    """The PutEvents entry AWS Batch sends for a job described as ``detail``."""
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail, default=str),
        "Resources": [detail["jobArn"]],
    }


def array_environment(array_properties: dict[str, Any], parent_size: int | None) -> dict[str, str]:
    """``AWS_BATCH_JOB_ARRAY_INDEX``/``_SIZE`` for an array child (its properties hold ``index``)."""
    if "index" not in array_properties:
        return {}
    env = {"AWS_BATCH_JOB_ARRAY_INDEX": str(array_properties["index"])}
    if parent_size is not None:
        env["AWS_BATCH_JOB_ARRAY_SIZE"] = str(parent_size)
    return env


class JobCancelled(Exception):
    """Raised in a job's own thread when it was cancelled while RUNNABLE: moto's run() then fails it."""


class FidelityJob(batch_models.Job):
    """moto's Batch job thread, with AWS's job environment, retries and state change events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._published_status: str | None = JobStatus.SUBMITTED.value
        self._publish_lock = threading.RLock()
        self._retry_pending = False
        self.runnable_since: datetime | None = None
        super().__init__(*args, **kwargs)

    # --- status: every change is published -------------------------------------------------

    @property
    def status(self) -> str | None:
        if getattr(self, "_status", None) == JobStatus.RUNNABLE.value:
            if self.stop and threading.current_thread() is self:
                raise JobCancelled(self.job_stopped_reason)  # moto's run() makes it FAILED at once
            if not self._placeable():
                return JobStatus.RUNNABLE.value  # held, as AWS holds a job no compute environment can take
        value: str | None = _MANAGED_STATUS.fget(self)  # type: ignore[misc]
        self._publish_if_changed(value)
        return value

    @status.setter
    def status(self, value: str) -> None:
        _MANAGED_STATUS.fset(self, value)  # type: ignore[misc]
        self._publish_if_changed(value)

    def _publish_if_changed(self, value: str | None) -> None:
        lock = getattr(self, "_publish_lock", None)
        if lock is None or value is None:
            return
        with lock:
            if value == self._published_status:
                return
            self._published_status = value
            if value == JobStatus.RUNNABLE.value:
                self.runnable_since = CLOCK.now()
            try:
                self._publish(self.describe())
            except Exception:  # delivery is asynchronous on AWS: never fail the job for it
                logger.exception("could not publish the state change of Batch job %s", self.job_id)

    def _placeable(self) -> bool:
        """Whether one of the queue's compute environments is enabled (a job is held RUNNABLE otherwise)."""
        environments = getattr(self.job_queue, "environments", None) or []
        return not environments or any(getattr(env, "state", "ENABLED") == "ENABLED" for env in environments)

    def _publish(self, detail: dict[str, Any]) -> None:
        from moto.events.models import events_backends

        events = events_backends[self.backend.account_id][self.backend.region_name]
        events.put_events([state_change_entry(detail)])

    # --- describe: retry strategy, array parents --------------------------------------------

    def describe(self) -> dict[str, Any]:
        children = self._child_jobs or []
        statuses = [child.status for child in children]
        failed = children and all(s in DONE for s in statuses) and JobStatus.FAILED.value in statuses
        if failed and self._status != JobStatus.FAILED.value:  # ends when its last child did, as on AWS
            self.job_stopped = True
            self.job_stopped_at = max(child.job_stopped_at for child in children)
            self.job_stopped_reason = "Array Child Job failed"
            self.status = JobStatus.FAILED.value
        result: dict[str, Any] = super().describe()
        if self.job_definition.retry_strategy:
            result["retryStrategy"] = self.job_definition.retry_strategy
        if self._status == JobStatus.FAILED.value and children:
            result["statusReason"] = self.job_stopped_reason
        return result

    # --- the container's environment ---------------------------------------------------------

    def _get_container_property(self, p: str, default: Any) -> Any:
        value = super()._get_container_property(p, default)
        if p != "environment" or threading.current_thread() is not self:
            return value  # describe_jobs shows the job's own environment, as on AWS
        env = {item["name"]: item["value"] for item in value}
        env.update(self._batch_environment())
        return [{"name": name, "value": text} for name, text in env.items()]

    def _batch_environment(self) -> dict[str, str]:
        environments = getattr(self.job_queue, "environments", None) or []
        env = {
            "AWS_BATCH_JOB_ID": self.job_id,
            "AWS_BATCH_JOB_ATTEMPT": str(len(self.attempts) + 1),
            "AWS_BATCH_JQ_NAME": self.job_queue.name,
        }
        if environments:
            env["AWS_BATCH_CE_NAME"] = str(getattr(environments[0], "name", ""))
        parent = self.all_jobs.get(self.job_id.split(":")[0]) if ":" in self.job_id else None
        parent_size = None if parent is None else parent.array_properties.get("size")
        env.update(array_environment(self.array_properties, parent_size))
        return env

    # --- attempts and retries ------------------------------------------------------------------

    def run(self) -> None:
        while True:
            super().run()
            if not self._retry_pending:
                self._notify_parent()
                return
            self._retry_pending = False
            self.job_stopped = False
            self.exit_code = None
            self.job_stopped_reason = None
            self.status = JobStatus.RUNNABLE.value

    def _mark_stopped(self, success: bool = True) -> None:
        if self.job_stopped:
            return
        if self.exit_code not in (None, 0) and self.job_stopped_reason is None and not self.stop:
            self.job_stopped_reason = CONTAINER_EXITED
        if not success and self._retryable():
            # Back to RUNNABLE (in run()) without passing through FAILED, as on AWS.
            self.job_stopped = True
            self.job_stopped_at = datetime.now()
            self._stop_attempt()
            self._retry_pending = True
            return
        super()._mark_stopped(success)

    def _retryable(self) -> bool:
        if self.stop or self.latest_attempt is None:
            return False  # cancelled, terminated, or never started (a failed dependency)
        outcome = AttemptOutcome(self.exit_code, None, self.job_stopped_reason)
        return should_retry(self.job_definition.retry_strategy, len(self.attempts), outcome)

    def _stop_attempt(self) -> None:
        super()._stop_attempt()
        if self.latest_attempt is None:
            return
        if self.exit_code is not None:
            self.latest_attempt["container"]["exitCode"] = self.exit_code
        if self.job_stopped_reason is not None:
            self.latest_attempt["statusReason"] = self.job_stopped_reason

    def _notify_parent(self) -> None:
        parent = self.all_jobs.get(self.job_id.split(":")[0]) if ":" in self.job_id else None
        if parent is not None:
            parent.describe()  # settles the parent's status once its children are done


_get_job_definition = batch_models.BatchBackend.get_job_definition


def get_job_definition(backend: batch_models.BatchBackend, identifier: str) -> Any:
    """moto's lookup, plus AWS's ARN without revision: the latest active revision of that name."""
    name = arn_prefix_name(identifier)
    if name is not None:
        return backend.get_job_definition_by_name(name)
    return _get_job_definition(backend, identifier)


def install() -> None:
    """Make moto's Batch backend create :class:`FidelityJob` jobs and accept job definition ARN prefixes."""
    setattr(batch_models, "Job", FidelityJob)  # noqa: B010 - submit_job reads the module's name
    setattr(batch_models.BatchBackend, "get_job_definition", get_job_definition)  # noqa: B010

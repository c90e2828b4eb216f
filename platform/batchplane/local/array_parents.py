"""An array job ends when its children have: SUCCEEDED when all did, FAILED when any failed.

moto marks an array job SUCCEEDED once every child has, but never FAILED: with
a failed child it stays SUBMITTED for ever, and whatever waits for it (a
pipeline's ``submitJob.sync`` step, ``jobs submit --wait``) waits for ever.
On AWS the parent is FAILED once its children are done and one of them failed.
:func:`install` gives moto's ``DescribeJobs`` that outcome, with the parent's
stop time (its last child's).
"""

from __future__ import annotations

from typing import Any

from moto.batch.models import Job

ENDED = ("SUCCEEDED", "FAILED")

_moto_describe = Job.describe


def describe(job: Job) -> dict[str, Any]:
    """moto's description of ``job``; an array job whose children all ended, one of them FAILED, is FAILED."""
    result = _moto_describe(job)
    children = job._child_jobs
    if not children or any(child.status not in ENDED for child in children):
        return result
    if any(child.status == "FAILED" for child in children):
        job.status = "FAILED"
        job.job_stopped = True
        job.job_stopped_at = max(child.job_stopped_at for child in children)
        result = _moto_describe(job)
    return result


def install() -> None:
    """Replace moto's ``Job.describe`` with :func:`describe`."""
    Job.describe = describe  # type: ignore[method-assign,assignment]

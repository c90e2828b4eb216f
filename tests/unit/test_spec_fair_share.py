"""Fair share in the spec: jobs name a share of their queue, S3 triggers stay off fair-share queues, weights fit AWS.

Each spec is built from :data:`BASE` (a fair-share queue ``shared`` and a job
``render`` on it) and validated through the CLI, which reports every problem in
one run at ``platform.yaml:LINE: path: message``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from batchplane.cli.app import app
from batchplane.errors import ExitCode

Doc = dict[str, Any]

BASE: Doc = {
    "version": 1,
    "name": "acme",
    "region": "eu-west-1",
    "environments": {
        "dev": {"account_id": "111111111111", "network": {"create": True, "cidr": "10.10.0.0/16"}, "max_vcpus": 64},
    },
    "compute": {"ondemand": {"kind": "ec2", "instance_types": ["optimal"], "max_vcpus": 32}},
    "queues": {
        "shared": {
            "priority": 10,
            "compute": ["ondemand"],
            "fair_share": {"shares": {"analytics": 3, "adhoc": 1}, "share_decay_seconds": 3600},
        },
        "plain": {"priority": 5, "compute": ["ondemand"]},
    },
    "jobs": {
        "render": {
            "image": "render",
            "queue": "shared",
            "vcpus": 1,
            "memory_mib": 2048,
            "command": ["render"],
            "share": "analytics",
        }
    },
}


def base() -> Doc:
    return copy.deepcopy(BASE)


def validate(doc: Doc, tmp_path: Path) -> tuple[Result, list[str]]:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return CliRunner().invoke(app, ["validate", "--spec", str(path)]), path.read_text(encoding="utf-8").splitlines()


def reported(result: Result, lines: list[str]) -> list[tuple[str, str, str]]:
    """Each problem as (path, the stripped text of its line, message)."""
    found = []
    for printed in result.output.splitlines():
        text = printed.removeprefix("error: ")  # a single problem is printed as the error itself
        if text.startswith("platform.yaml:"):
            _, line, path, message = text.split(":", 3)
            found.append((path.strip(), lines[int(line) - 1].strip(), message.strip()))
    return found


def only_problem(doc: Doc, tmp_path: Path) -> tuple[str, str, str]:
    result, lines = validate(doc, tmp_path)
    assert result.exit_code == ExitCode.SPEC_INVALID, result.output
    [problem] = reported(result, lines)
    return problem


def test_the_base_spec_is_valid(tmp_path: Path) -> None:
    result, _ = validate(base(), tmp_path)
    assert result.exit_code == ExitCode.OK, result.output


def test_a_job_on_a_fair_share_queue_must_name_a_share(tmp_path: Path) -> None:
    doc = base()
    del doc["jobs"]["render"]["share"]
    assert only_problem(doc, tmp_path) == (
        "jobs.render",
        "render:",
        "queue shared is a fair-share queue: set share to one of adhoc, analytics",
    )


def test_a_share_the_queue_does_not_declare_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["render"]["share"] = "analytic"
    assert only_problem(doc, tmp_path) == (
        "jobs.render.share",
        "share: analytic",
        "no share identifier named 'analytic' (did you mean 'analytics'?) (known: adhoc, analytics) "
        "on fair-share queue shared",
    )


def test_a_share_on_a_queue_without_fair_share_is_refused(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["render"]["queue"] = "plain"
    assert only_problem(doc, tmp_path) == (
        "jobs.render.share",
        "share: analytics",
        "queue plain has no fair_share: remove share, or give the queue a fair_share policy",
    )


def test_s3_triggers_cannot_submit_to_a_fair_share_queue(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["render"]["triggers"] = [{"s3": {"bucket": "acme-input"}}]
    path, line, message = only_problem(doc, tmp_path)
    assert (path, line) == ("jobs.render.triggers", "triggers:")
    assert "EventBridge's Batch target passes no share identifier" in message
    assert "AWS Batch refuses a job without one on a fair-share queue" in message


def test_a_schedule_on_a_fair_share_queue_is_fine(tmp_path: Path) -> None:
    doc = base()
    doc["jobs"]["render"]["schedule"] = "rate(1 hour)"
    result, _ = validate(doc, tmp_path)
    assert result.exit_code == ExitCode.OK, result.output


@pytest.mark.parametrize(("smallest", "valid"), [(1, True), (0.999, False), (0.5, False)])
def test_weights_may_differ_at_most_999_times(smallest: float, valid: bool, tmp_path: Path) -> None:
    doc = base()
    doc["queues"]["shared"]["fair_share"]["shares"] = {"analytics": 999, "adhoc": smallest}
    result, lines = validate(doc, tmp_path)
    if valid:
        assert result.exit_code == ExitCode.OK, result.output
        return
    [(path, line, message)] = reported(result, lines)
    assert (path, line) == ("queues.shared.fair_share.shares", "shares:")
    assert message.startswith(f"analytics weighs {999 / smallest:.6g} times as much as adhoc")
    assert "weights may differ at most 999 times" in message


def test_every_fair_share_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    doc = base()
    doc["queues"]["shared"]["fair_share"]["shares"] = {"analytics": 500, "adhoc": 0.1}
    doc["jobs"]["render"]["triggers"] = [{"s3": {"bucket": "acme-input"}}]
    doc["jobs"]["other"] = {**doc["jobs"]["render"], "share": "nobody", "triggers": []}
    doc["jobs"]["third"] = {**doc["jobs"]["other"], "queue": "plain"}
    result, lines = validate(doc, tmp_path)
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert [(path, line) for path, line, _ in reported(result, lines)] == [
        ("queues.shared.fair_share.shares", "shares:"),
        ("jobs.render.triggers", "triggers:"),
        ("jobs.other.share", "share: nobody"),
        ("jobs.third.share", "share: nobody"),
    ]


def _prod(overrides: Doc) -> Doc:
    doc = base()
    doc["environments"]["prod"] = {
        "account_id": "333333333333",
        "network": {"create": True, "cidr": "10.30.0.0/16"},
        "max_vcpus": 64,
        "overrides": overrides,
    }
    return doc


def test_an_override_moving_the_job_off_fair_share_is_reported_at_the_override(tmp_path: Path) -> None:
    doc = _prod({"jobs": {"render": {"queue": "plain"}}})
    path, line, message = only_problem(doc, tmp_path)
    assert (path, line) == ("environments.prod.overrides.jobs.render.share", "render:")
    assert message == (
        "queue plain has no fair_share: remove share, or give the queue a fair_share policy "
        "(after environment prod's overrides)"
    )


def test_an_override_naming_a_share_the_queue_lacks_is_reported_at_the_override(tmp_path: Path) -> None:
    doc = _prod({"jobs": {"render": {"share": "batch"}}})
    path, line, message = only_problem(doc, tmp_path)
    assert (path, line) == ("environments.prod.overrides.jobs.render.share", "share: batch")
    assert message.startswith("no share identifier named 'batch'")
    assert message.endswith("on fair-share queue shared (after environment prod's overrides)")


def test_an_override_spreading_the_weights_is_reported_at_the_override(tmp_path: Path) -> None:
    doc = _prod({"queues": {"shared": {"fair_share": {"shares": {"adhoc": 0.001}}}}})
    path, line, message = only_problem(doc, tmp_path)
    assert (path, line) == ("environments.prod.overrides.queues.shared.fair_share.shares", "shares:")
    assert message.endswith("(after environment prod's overrides)")

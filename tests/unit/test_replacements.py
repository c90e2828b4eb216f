"""Replacements of compute environments, queues and scheduling policies: what they do to jobs, and the queue flag.

The plan JSON here is constructed in the shape ``terraform show -json`` gives (the
integration test tests/integration/test_compute_replacement.py reads the real one).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.cli.terraform import _replacement_lines
from batchplane.errors import ExitCode
from batchplane.images.lock import ImageLock, LockEntry, write_lock
from batchplane.spec import load_spec
from batchplane.terraform import lifecycle, targets
from batchplane.terraform.lifecycle import PlanResult
from batchplane.terraform.replacements import QueueReplacementRefusedError, refuse_queue_replacement
from batchplane.terraform.summary import read_summary, summarize, write_summary
from batchplane.views.pr_comment import comment
from batchplane.workflows import up
from tests.conftest import EXAMPLE_SPEC, copy_example

COMPUTE = 'module.compute["spot"].aws_batch_compute_environment.this'
QUEUE = 'module.queue["default"].aws_batch_job_queue.this'
POLICY = 'module.queue["default"].aws_batch_scheduling_policy.this[0]'


def _replace(address: str, kind: str, actions: list[str], paths: list[list[Any]], **before: Any) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, "before": before, "after": {}, "after_unknown": {}, "replace_paths": paths},
    }


def _compute(kind: str = "SPOT", actions: tuple[str, ...] = ("create", "delete")) -> dict[str, Any]:
    resources = [{"type": kind, "instance_type": ["c6i.large"]}]
    paths = [["compute_resources", 0, "instance_type"]]
    return _replace(COMPUTE, "aws_batch_compute_environment", list(actions), paths, compute_resources=resources)


def _queue(*paths: list[Any]) -> dict[str, Any]:
    return _replace(QUEUE, "aws_batch_job_queue", ["delete", "create"], list(paths) or [["name"]], name="q")


def _plan(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"resource_changes": list(changes)}


def test_a_compute_environment_replacement_names_its_reason_and_keeps_the_queue() -> None:
    (replaced,) = summarize("dev", _plan(_compute())).replacements
    assert (replaced.address, replaced.kind, replaced.forced_by) == (
        COMPUTE,
        "compute environment",
        ("compute_resources[0].instance_type",),
    )
    assert replaced.create_first
    assert "created first" in replaced.steps
    assert "pointed at it" in replaced.steps
    assert replaced.queued_jobs.startswith("Not lost")
    assert "keep running while it is disabled" in replaced.running_jobs
    assert "without waiting" in replaced.running_jobs


def test_a_fargate_environment_says_what_aws_requires_of_its_active_jobs() -> None:
    (replaced,) = summarize("dev", _plan(_compute("FARGATE_SPOT"))).replacements
    assert "INVALID" in replaced.running_jobs


def test_an_environment_destroyed_before_its_replacement_warns_of_the_queue_relationship() -> None:
    (replaced,) = summarize("dev", _plan(_compute(actions=("delete", "create")))).replacements
    assert not replaced.create_first
    assert "JobQueue relationship" in replaced.steps


def test_a_queue_replacement_loses_queued_jobs_and_terminates_running_ones() -> None:
    (replaced,) = summarize("dev", _plan(_queue(["scheduling_policy_arn"]))).replacements
    assert replaced.is_queue
    assert replaced.forced_by == ("scheduling_policy_arn",)
    assert replaced.queued_jobs.startswith("Lost")
    assert replaced.running_jobs.startswith("Terminated")
    assert "disabled, deleted and created again" in replaced.steps
    assert "its ARN, stay the same" in replaced.steps
    assert "submissions to it fail" in replaced.steps


def test_a_renamed_queue_gets_a_new_arn() -> None:
    (replaced,) = summarize("dev", _plan(_queue(["name"]))).replacements
    assert "new ARN" in replaced.steps


def test_a_scheduling_policy_replacement_says_what_it_means_for_the_queue() -> None:
    change = _replace(POLICY, "aws_batch_scheduling_policy", ["delete", "create"], [["name"]], name="p")
    (replaced,) = summarize("dev", _plan(change)).replacements
    assert replaced.kind == "scheduling policy"
    assert "refuses to delete a policy a queue still uses" in replaced.steps
    assert "Not interrupted" in replaced.running_jobs


def test_only_replaced_batch_resources_are_explained() -> None:
    role = _replace("aws_iam_role.r", "aws_iam_role", ["delete", "create"], [["name"]])
    updated = {**_compute(), "change": {**_compute()["change"], "actions": ["update"], "replace_paths": None}}
    summary = summarize("dev", _plan(role, updated))
    assert summary.replacements == ()
    assert summary.counts["replace"] == 1  # the role still counts as a replacement


def test_a_replacement_without_replace_paths_still_reads() -> None:
    change = _compute()
    change["change"]["replace_paths"] = None
    (replaced,) = summarize("dev", _plan(change)).replacements
    assert replaced.forced_by == ()
    assert replaced.reason() == "an attribute terraform cannot update in place"


def test_replacements_round_trip_in_summary_json_and_older_summaries_still_read(tmp_path: Path) -> None:
    written = write_summary(tmp_path, "dev", _plan(_compute(), _queue()))
    (tmp_path / "batchplane.tfplan").write_bytes(b"plan")
    assert read_summary(tmp_path) == written
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert [r["address"] for r in stored["replacements"]] == [COMPUTE, QUEUE]
    assert set(stored["replacements"][0]) == {
        "address",
        "kind",
        "forced_by",
        "create_first",
        "steps",
        "queued_jobs",
        "running_jobs",
    }
    del stored["replacements"]  # written before replacements were recorded
    (tmp_path / "summary.json").write_text(json.dumps(stored))
    older = read_summary(tmp_path)
    assert older is not None
    assert older.replacements == ()


def test_the_comment_tells_what_each_replacement_does_to_jobs() -> None:
    text = comment([summarize("dev", _plan(_queue(["scheduling_policy_arn"])))])
    assert f"- -/+ `{QUEUE}` — forced by `scheduling_policy_arn`\n  - how: The queue is disabled" in text
    assert "\n  - queued jobs: Lost: AWS terminates every job in a deleted queue" in text
    assert "\n  - running jobs: Terminated" in text


# --- the production flag ------------------------------------------------------------------------


def test_a_production_queue_replacement_is_refused_naming_queue_and_reason() -> None:
    replacements = summarize("prod", _plan(_compute(), _queue(["scheduling_policy_arn"]))).replacements
    with pytest.raises(QueueReplacementRefusedError) as refused:
        refuse_queue_replacement("prod", replacements, production=True, allowed=False)
    assert refused.value.exit_code == ExitCode.POLICY_FAILED
    message = str(refused.value)
    assert f"replaces 1 job queue(s): {QUEUE} (forced by scheduling_policy_arn)" in message
    assert "saved plan is kept" in message
    assert "--allow-queue-replacement" in message
    refuse_queue_replacement("prod", replacements, production=True, allowed=True)
    refuse_queue_replacement("dev", replacements, production=False, allowed=False)
    compute_only = summarize("prod", _plan(_compute())).replacements
    refuse_queue_replacement("prod", compute_only, production=True, allowed=False)


def test_plan_output_tells_a_production_tier_that_apply_needs_the_flag() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    replacements = summarize("prod", _plan(_queue(["scheduling_policy_arn"]))).replacements
    lines = _replacement_lines(spec, PlanResult("prod", False, [], Path("p.json"), replacements))
    assert lines[0] == "prod: 1 replacement(s) of compute environments, queues or policies"
    assert f"  -/+ {QUEUE} (job queue)" in lines
    assert "      forced by: scheduling_policy_arn" in lines
    assert any(line.startswith("      queued jobs: Lost") for line in lines)
    assert lines[-1] == "  prod is a production tier: `apply` refuses this plan without --allow-queue-replacement"
    development = _replacement_lines(spec, PlanResult("dev", True, [], Path("p.json"), replacements))
    assert development[0].startswith("dev (local): 1 replacement(s)")
    assert not any("--allow-queue-replacement" in line for line in development)
    assert _replacement_lines(spec, PlanResult("dev", False, [], Path("p.json"))) == []


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example with production digests pinned (a production tier refuses unpinned images) and rendered."""
    root = copy_example(tmp_path)
    monkeypatch.chdir(root)
    spec = load_spec(root / "platform.yaml")
    images = {job.image for job in spec.platform.jobs.values()}
    digest = {image: "sha256:" + hashlib.sha256(image.encode()).hexdigest() for image in images}
    pins = {image: {"prod": LockEntry(digest=d, tag="t", source_hash="t")} for image, d in digest.items()}
    write_lock(root, ImageLock(images=pins))
    assert CliRunner().invoke(app, ["render"]).exit_code == 0
    return root


def _saved_plan(repo: Path, root: str) -> Path:
    directory = repo / ".batchplane" / "plans" / "aws" / root
    directory.mkdir(parents=True)
    (directory / "plan.json").write_text(json.dumps(_plan(_queue(["scheduling_policy_arn"]))))
    (directory / "batchplane.tfplan").write_bytes(b"plan")
    return directory


def test_apply_refuses_a_production_queue_replacement_and_keeps_the_plan(repo: Path) -> None:
    saved = _saved_plan(repo, "prod")
    refused = CliRunner().invoke(app, ["apply", "--env", "prod", "--approve-production"])
    assert refused.exit_code == ExitCode.POLICY_FAILED, refused.output
    assert f"{QUEUE} (forced by scheduling_policy_arn)" in refused.stderr
    assert sorted(p.name for p in saved.iterdir()) == ["batchplane.tfplan", "plan.json"]


def test_apply_with_the_flag_gets_past_the_refusal(repo: Path) -> None:
    _saved_plan(repo, "prod")
    allowed = CliRunner().invoke(app, ["apply", "--env", "prod", "--approve-production", "--allow-queue-replacement"])
    # Past the refusal, apply wants the plan's fingerprint, which this stand-in plan has not: exit 6, not 4.
    assert allowed.exit_code == ExitCode.CHANGES_PENDING, allowed.output
    assert "warning: prod: this apply replaces job queue" in allowed.stderr


def test_a_development_tier_is_warned_not_refused(repo: Path) -> None:
    _saved_plan(repo, "dev")
    warned = CliRunner().invoke(app, ["apply", "--env", "dev"])
    assert warned.exit_code == ExitCode.CHANGES_PENDING, warned.output
    assert f"warning: dev: this apply replaces job queue {QUEUE} (forced by scheduling_policy_arn)" in warned.stderr


def test_up_refuses_a_production_queue_replacement_it_has_no_flag_for(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(repo / "platform.yaml")
    target = targets.target_for(spec, "prod", None)
    saved = _saved_plan(repo, "prod")
    planned = PlanResult("prod", False, ["module.queue"], saved / "plan.json")
    monkeypatch.setattr(lifecycle, "plan_and_gate", lambda *a, **k: [planned])
    applied: list[object] = []
    monkeypatch.setattr(lifecycle, "apply", applied.append)
    with pytest.raises(QueueReplacementRefusedError) as refused:
        up._converge(target, spec, say=lambda _: None)
    assert "--allow-queue-replacement" in str(refused.value)
    assert applied == []
    assert sorted(p.name for p in saved.iterdir()) == ["batchplane.tfplan", "plan.json"]


def test_a_corrupt_saved_plan_json_is_a_located_state_error(repo: Path) -> None:
    saved = _saved_plan(repo, "dev")
    (saved / "plan.json").write_text("{not json")
    result = CliRunner().invoke(app, ["apply", "--env", "dev"])
    assert result.exit_code == ExitCode.SPEC_INVALID, result.output
    assert "plan.json: not the JSON of a saved plan" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output

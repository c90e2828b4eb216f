"""The reviewable summary of a plan and the pull-request comment made from it (pure: plan JSON in, text out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from batchplane.terraform.summary import UNKNOWN, read_summary, summarize, write_summary
from batchplane.views.pr_comment import MARKER, MAX_LINES, comment
from tests.conftest import copy_example


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _change(address: str, kind: str, actions: list[str], before: Any, after: Any, **extra: Any) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": kind,
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}, **extra},
    }


CONTAINER = {"image": "repo/etl@sha256:aaa", "resourceRequirements": [{"type": "MEMORY", "value": "2048"}]}
PLAN: dict[str, Any] = {
    "resource_changes": [
        _change(
            "module.job.aws_iam_role_policy.this",
            "aws_iam_role_policy",
            ["update"],
            {"policy": _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::in/*"})},
            {"policy": _policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"})},
        ),
        _change(
            "module.compute.aws_batch_compute_environment.this",
            "aws_batch_compute_environment",
            ["delete", "create"],
            {"compute_resources": [{"max_vcpus": 64, "instance_type": ["c6i.large"]}]},
            {"compute_resources": [{"max_vcpus": 128, "instance_type": ["c6i.large"]}]},
            replace_paths=[["compute_resources", 0, "max_vcpus"]],
        ),
        _change(
            "module.job.aws_batch_job_definition.this",
            "aws_batch_job_definition",
            ["update"],
            {"container_properties": json.dumps(CONTAINER)},
            {"container_properties": json.dumps({**CONTAINER, "image": "repo/etl@sha256:bbb"})},
        ),
        _change("module.x.aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment", ["create"], None,
                {"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "role": "r"}),
        _change("module.x.aws_s3_bucket.unchanged", "aws_s3_bucket", ["no-op"], {}, {}),
        {"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity",
         "change": {"actions": ["read"], "before": None, "after": {}}},
    ]
}  # fmt: skip


def test_counts_replacements_and_what_forces_them() -> None:
    summary = summarize("dev", PLAN)
    assert summary.counts == {"add": 1, "change": 2, "replace": 1, "destroy": 0}
    replaced = [c for c in summary.changes if c.action == "replace"]
    assert [(c.address, c.forced_by) for c in replaced] == [
        ("module.compute.aws_batch_compute_environment.this", ("compute_resources[0].max_vcpus",))
    ]


def test_iam_changes_are_expanded_to_what_they_grant() -> None:
    grants = {g.address: g for g in summarize("dev", PLAN).grants}
    widened = grants["module.job.aws_iam_role_policy.this"]
    assert widened.added == ("Allow s3:GetObject on *", "Allow s3:PutObject on *")
    assert widened.removed == ("Allow s3:GetObject on arn:aws:s3:::in/*",)
    assert grants["module.x.aws_iam_role_policy_attachment.a"].added == (
        "attach arn:aws:iam::aws:policy/ReadOnlyAccess",
    )


def test_a_policy_only_the_apply_knows_is_said_so_not_listed_as_removed() -> None:
    change = _change(
        "module.job.aws_iam_role_policy.events",
        "aws_iam_role_policy",
        ["update"],
        {"policy": _policy({"Effect": "Allow", "Action": "batch:SubmitJob", "Resource": "arn:x:1"})},
        {},
    )
    change["change"]["after_unknown"] = {"policy": True}
    (grant,) = summarize("dev", {"resource_changes": [change]}).grants
    assert grant.removed == ()
    assert UNKNOWN in grant.added[0]


def test_trust_policies_name_the_principal() -> None:
    trust = _policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "batch.amazonaws.com"}})
    change = _change("aws_iam_role.r", "aws_iam_role", ["create"], None, {"assume_role_policy": trust})
    (grant,) = summarize("dev", {"resource_changes": [change]}).grants
    assert grant.added == ("Allow sts:AssumeRole for Service batch.amazonaws.com",)


def test_capacity_and_images_before_and_after() -> None:
    summary = summarize("dev", PLAN)
    assert [(v.attribute, v.before, v.after) for v in summary.capacity] == [("max_vcpus", "64", "128")]
    assert [(v.before, v.after) for v in summary.images] == [("repo/etl@sha256:aaa", "repo/etl@sha256:bbb")]


def test_the_summary_round_trips_and_counts_only_beside_a_saved_plan(tmp_path: Path) -> None:
    written = write_summary(tmp_path, "dev", PLAN)
    assert read_summary(tmp_path) is None  # no saved plan beside it: applied or never made
    (tmp_path / "batchplane.tfplan").write_bytes(b"plan")
    assert read_summary(tmp_path) == written


def test_the_comment_starts_with_its_marker_and_is_byte_stable() -> None:
    summary = summarize("dev", PLAN)
    text = comment([summary])
    assert text.splitlines()[0] == MARKER
    assert text == comment([summarize("dev", PLAN)])
    assert "| dev | 1 | 2 | 1 | 0 |" in text
    assert "forced by `compute_resources[0].max_vcpus`" in text
    assert "**added** `Allow s3:PutObject on *`" in text
    assert "| `module.compute.aws_batch_compute_environment.this` | max_vcpus | 64 | 128 |" in text
    assert "```mermaid" in text


def test_long_lists_are_capped() -> None:
    many = {
        "resource_changes": [
            _change(f"aws_sqs_queue.q{i:03}", "aws_sqs_queue", ["create"], None, {}) for i in range(45)
        ]
    }
    text = comment([summarize("dev", many)])
    assert f"- … and {45 - MAX_LINES} more" in text
    assert "```mermaid" not in text  # too many to draw


def test_a_mermaid_label_cannot_break_out_of_its_quotes() -> None:
    change = _change('module.job["a"].aws_sqs_queue.q', "aws_sqs_queue", ["create"], None, {})
    text = comment([summarize("dev", {"resource_changes": [change]})])
    assert 'c0["+ module.job[#quot;a#quot;].aws_sqs_queue.q"]' in text


# --- `report pr` ---------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_example(tmp_path)
    monkeypatch.chdir(root)
    return root


def _saved(repo: Path, root: str) -> Path:
    directory = repo / ".batchplane" / "plans" / "aws" / root
    directory.mkdir(parents=True)
    write_summary(directory, root, PLAN)
    (directory / "batchplane.tfplan").write_bytes(b"plan")
    return directory


def test_report_pr_lists_the_saved_plans_in_spec_order(repo: Path) -> None:
    _saved(repo, "prod")
    _saved(repo, "dev")
    result = CliRunner().invoke(app, ["report", "pr", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["roots"] == ["dev", "prod"]


def test_report_pr_refuses_a_named_root_without_a_saved_plan(repo: Path) -> None:
    result = CliRunner().invoke(app, ["report", "pr", "--env", "test"])
    assert result.exit_code == ExitCode.CHANGES_PENDING
    assert "no saved plan for test" in result.stderr


def test_report_pr_suggests_the_closest_root(repo: Path) -> None:
    result = CliRunner().invoke(app, ["report", "pr", "--env", "prd"])
    assert result.exit_code == ExitCode.USAGE
    assert "did you mean 'prod'" in result.stderr


def test_report_pr_names_a_corrupt_summary(repo: Path) -> None:
    directory = _saved(repo, "dev")
    (directory / "summary.json").write_text('{"root": "dev"')
    result = CliRunner().invoke(app, ["report", "pr"])
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert "summary.json:1" in result.stderr


def test_report_pr_includes_the_policy_result(repo: Path, tmp_path: Path) -> None:
    _saved(repo, "dev")
    check = tmp_path / "check.json"
    check.write_text(json.dumps({"summary": {"failed": 2, "waived": 1, "passed": 9}, "waivers": []}))
    result = CliRunner().invoke(app, ["report", "pr", "--check", str(check)])
    assert result.exit_code == 0, result.output
    assert "Policy gate: **2 finding(s) to fix** (2 failed, 1 waived, 9 passed)." in result.stdout

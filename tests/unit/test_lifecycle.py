"""The lifecycle: plan summaries, terraform errors in a user's terms, fingerprints, approval, refusals, plan_all."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchplane.errors import ExitCode
from batchplane.images.lock import ImageLock, write_lock
from batchplane.local.workcopy import STAND_IN_NETWORK, prepare_workdir, provider_override
from batchplane.policy.findings import Finding, PolicyFailedError
from batchplane.policy.gate import refuse
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec import load_spec
from batchplane.terraform.lifecycle import PlanResult, changes_of, explain, plan_all, refuse_unpinned
from batchplane.terraform.targets import (
    ApprovalRequiredError,
    Target,
    fingerprint,
    needs_approval,
    require_approval,
    roots_of,
)
from tests.conftest import EXAMPLE_SPEC, copy_example

LOCK_ERROR = """
│ Error: Error acquiring the state lock
│
│ Error message: operation error S3: PutObject, https response error StatusCode: 412
│ Lock Info:
│   ID:        0f3c1d7e-aaaa-bbbb-cccc-111122223333
│   Path:      acme-tfstate/batchplane/acme/dev/terraform.tfstate
│   Operation: OperationTypeApply
│   Who:       alice@build-7
│   Version:   1.11.4
│   Created:   2026-11-22 10:00:00 +0000 UTC
│   Info:
"""

RESOURCE_ERROR = """
module.queue["default"].aws_batch_job_queue.this: Creating...
╷
│ Error: creating Batch Job Queue (acme-dev-default): operation error Batch: CreateJobQueue, api error
│
│   with module.queue["default"].aws_batch_job_queue.this,
│   on ../../modules/job_queue/main.tf line 1, in resource "aws_batch_job_queue" "this":
╵
"""


def _target(tmp_path: Path, *, local: bool = False) -> Target:
    return Target(tmp_path, "dev", tmp_path, local=local, needs_approval=False)


def test_a_held_lock_is_explained_with_who_and_how_to_release_it(tmp_path: Path) -> None:
    message = explain(_target(tmp_path), LOCK_ERROR)
    assert "the state of dev is locked by alice@build-7" in message
    assert "terraform force-unlock 0f3c1d7e-aaaa-bbbb-cccc-111122223333" in message


def test_a_resource_error_names_the_cause_and_the_resource_first(tmp_path: Path) -> None:
    first, second = explain(_target(tmp_path), RESOURCE_ERROR).splitlines()[:2]
    assert first == "dev: creating Batch Job Queue (acme-dev-default): operation error Batch: CreateJobQueue, api error"
    assert second == 'failing resource: module.queue["default"].aws_batch_job_queue.this'


def test_a_refused_connection_in_local_mode_points_at_the_emulator(tmp_path: Path) -> None:
    output = "│ Error: reading ...: dial tcp 127.0.0.1:5055: connect: connection refused"
    assert "local AWS did not answer" in explain(_target(tmp_path, local=True), output)


def test_plan_changes_skip_no_ops_and_reads_and_are_counted_per_type(tmp_path: Path) -> None:
    document = {
        "resource_changes": [
            {"address": "b", "type": "aws_batch_job_queue", "change": {"actions": ["update"]}},
            {"address": "a", "type": "aws_batch_job_queue", "change": {"actions": ["no-op"]}},
            {"address": "c", "type": "aws_iam_role", "change": {"actions": ["delete", "create"]}},
            {"address": "d", "type": "aws_iam_role", "change": {"actions": ["create"]}},
            {"address": "e", "type": "aws_partition", "change": {"actions": ["read"]}},
        ]
    }
    result = PlanResult("dev", False, changes_of(document), tmp_path / "plan.json")
    assert [c.address for c in result.changes] == ["b", "c", "d"]
    assert result.summary() == {
        "aws_batch_job_queue": {"add": 0, "change": 1, "destroy": 0},
        "aws_iam_role": {"add": 2, "change": 0, "destroy": 1},
    }


def test_fingerprint_changes_with_the_root_and_the_modules(tmp_path: Path) -> None:
    root = tmp_path / "environments" / "dev"
    root.mkdir(parents=True)
    (root / "main.tf").write_text("# a\n")
    (root / "terraform.tfvars.json").write_text("{}\n")
    module = tmp_path / "modules" / "job"
    module.mkdir(parents=True)
    (module / "main.tf").write_text("# m\n")
    target = Target(tmp_path, "dev", root, local=False, needs_approval=False)
    before = fingerprint(target)
    (root / "terraform.tfvars.json").write_text('{"x": 1}\n')
    after_values = fingerprint(target)
    (module / "main.tf").write_text("# m2\n")
    assert len({before, after_values, fingerprint(target)}) == 3


def test_local_override_assumes_a_role_in_the_environments_account() -> None:
    text = provider_override("http://127.0.0.1:5055", "222222222222")
    assert 'role_arn = "arn:aws:iam::222222222222:role/batchplane-local"' in text
    assert 'batch          = "http://127.0.0.1:5055"' in text
    assert 'backend "local"' in text


def test_working_copy_replaces_an_existing_network_and_leaves_the_root_alone(tmp_path: Path) -> None:
    root = tmp_path / "environments" / "test"
    root.mkdir(parents=True)
    (tmp_path / "modules").mkdir()
    values = '{"network": {"create": false, "vpc_id": "vpc-1", "assign_public_ip": true}}\n'
    (root / "terraform.tfvars.json").write_text(values)
    work = prepare_workdir(tmp_path, "test", "http://127.0.0.1:1", "222222222222")
    local_vars = (work / "batchplane_local.auto.tfvars.json").read_text()
    assert f'"cidr": "{STAND_IN_NETWORK["cidr"]}"' in local_vars
    assert '"assign_public_ip": true' in local_vars
    assert "emulator_compatible" not in local_vars  # the local AWS stores what real AWS does
    assert (root / "terraform.tfvars.json").read_text() == values
    assert sorted(p.name for p in root.iterdir()) == ["terraform.tfvars.json"]


# --- approval, refusals and planning in turn -------------------------------------


def test_only_a_root_that_needs_approval_needs_it() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    assert [root for root in roots_of(spec) if needs_approval(spec, root)] == ["prod"]


@pytest.mark.parametrize("action", ["apply", "destroy"])
def test_a_root_that_needs_approval_is_refused_without_it_with_one_message(action: str) -> None:
    spec = load_spec(EXAMPLE_SPEC)
    with pytest.raises(ApprovalRequiredError) as refused:
        require_approval(spec, "prod", approved=False, action=action)
    assert str(refused.value) == (
        f"prod needs approval to {action} (production tier or approval: required): pass --approve-production"
    )
    assert refused.value.exit_code == ExitCode.POLICY_FAILED
    require_approval(spec, "prod", approved=True, action=action)
    require_approval(spec, "dev", approved=False, action=action)
    require_approval(spec, SHARED_ROOT, approved=False, action=action)


def test_a_refusal_lists_every_finding_with_its_spec_line() -> None:
    spec = load_spec(EXAMPLE_SPEC)
    found = [
        Finding("dev", "jobs.report", "BP-X-001", "module.job", "high", 12, "a problem"),
        Finding("dev", "", "CKV_X_2", "aws_s3_bucket.b", "low", None, "another"),
    ]
    with pytest.raises(PolicyFailedError) as refused:
        refuse(found, spec, "dev fails the policy gate")
    assert str(refused.value) == (
        "dev fails the policy gate:\n"
        "  platform.yaml:12: BP-X-001 (high) jobs.report: a problem\n"
        "  CKV_X_2 (low) aws_s3_bucket.b: another"
    )
    refuse([], spec, "nothing to refuse")


def test_an_unpinned_production_image_is_refused_through_the_one_refusal(tmp_path: Path) -> None:
    spec = load_spec(copy_example(tmp_path) / "platform.yaml")
    write_lock(spec.root, ImageLock())
    with pytest.raises(PolicyFailedError, match=r"prod is a production tier and \d+ job image\(s\)") as refused:
        refuse_unpinned(spec, "prod")
    assert "BP-IMG-001" in str(refused.value)
    refuse_unpinned(spec, "dev")  # only a production tier insists on pins


def _empty_root(repo: Path, name: str, body: str = "") -> Target:
    workdir = repo / "environments" / name
    workdir.mkdir(parents=True)
    (workdir / "main.tf").write_text(body, encoding="utf-8")
    return Target(repo, name, workdir, local=False, needs_approval=False)


def test_plan_all_inits_then_plans_every_target_in_order(tmp_path: Path) -> None:
    # terraform_data is terraform's own: no provider to download.
    changing = _empty_root(tmp_path, "a", 'resource "terraform_data" "x" {\n  input = "x"\n}\n')
    still = _empty_root(tmp_path, "b")
    changed: list[str] = []
    results = plan_all([changing, still], purpose="drift", on_changes=lambda t: changed.append(t.root))
    assert [(r.root, r.has_changes) for r in results] == [("a", True), ("b", False)]
    assert changed == ["a"]
    assert results[0].plan_json == changing.plan_dir / "drift" / "plan.json"
    assert not (changing.plan_dir / "plan.json").exists()  # a drift plan never replaces a reviewed one

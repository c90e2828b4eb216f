"""Pure parts of the lifecycle: plan summaries, terraform errors in a user's terms, fingerprints."""

from __future__ import annotations

from pathlib import Path

from batchplane.local.workcopy import STAND_IN_NETWORK, prepare_workdir, provider_override
from batchplane.terraform.lifecycle import PlanResult, Target, changes_of, explain, fingerprint

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
    assert '"emulator_compatible": true' in local_vars
    assert (root / "terraform.tfvars.json").read_text() == values
    assert sorted(p.name for p in root.iterdir()) == ["terraform.tfvars.json"]

"""The S3 backend for real, on the emulator's S3: state lands in the bucket and its lock holds."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from batchplane.local.emulator import read_state
from tests.integration.lifecycle_support import LocalRepo, make_local_repo

BUCKET = "acme-tfstate"
KEY = "platform/acme/shared/terraform.tfstate"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path_factory.mktemp("s3-backend") / "repo")
    spec = local.spec
    spec.write_text(
        spec.read_text().replace(
            "state:\n  backend: local\n",
            f"state:\n  backend: s3\n  s3: {{bucket: {BUCKET}, key_prefix: platform}}\n",
        )
    )
    rendered = local.run("render")
    assert rendered.returncode == 0, rendered.stderr
    yield local
    local.run("local", "stop")


def _s3(repo: LocalRepo) -> object:
    state = read_state(repo.root)
    assert state is not None
    return boto3.client(
        "s3",
        endpoint_url=state.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="batchplane-local",
        aws_secret_access_key="batchplane-local",
    )


def test_state_is_written_to_the_bucket(repo: LocalRepo) -> None:
    assert 'backend "s3"' in (repo.root / "environments/shared/backend.tf").read_text()
    applied = repo.run("apply", "--env", "shared", "--local", "--plan-if-missing")
    assert applied.returncode == 0, applied.stderr[-3000:]
    state = json.loads(_s3(repo).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())  # type: ignore[attr-defined]
    assert any(r["type"] == "aws_ecr_repository" for r in state["resources"])
    assert repo.plan_json("shared")["has_changes"] is False


def test_a_held_lock_refuses_the_next_run_and_names_it(repo: LocalRepo) -> None:
    lock = {
        "ID": "11111111-2222-3333-4444-555555555555",
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "alice@build-7",
        "Version": "1.11.4",
        "Created": "2026-11-22T10:00:00Z",
        "Path": f"{BUCKET}/{KEY}",
    }
    client = _s3(repo)
    client.put_object(Bucket=BUCKET, Key=f"{KEY}.tflock", Body=json.dumps(lock).encode())  # type: ignore[attr-defined]
    try:
        refused = repo.run("plan", "--env", "shared", "--local")
        assert refused.returncode == 5
        assert "locked by alice@build-7" in refused.stderr
        assert "terraform force-unlock 11111111-2222-3333-4444-555555555555" in refused.stderr
    finally:
        client.delete_object(Bucket=BUCKET, Key=f"{KEY}.tflock")  # type: ignore[attr-defined]
    assert repo.run("plan", "--env", "shared", "--local").returncode == 0


def test_destroying_the_shared_root_leaves_no_repositories(repo: LocalRepo) -> None:
    destroyed = repo.run("destroy", "--env", "shared", "--local")
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    ecr = repo.client("ecr", "111111111111")
    assert ecr.describe_repositories()["repositories"] == []
    state = json.loads(_s3(repo).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())  # type: ignore[attr-defined]
    assert state["resources"] == []

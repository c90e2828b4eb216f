"""The whole loop on one machine: up (images built, pushed, pinned; Terraform applied), a job that runs.

Real Docker engine, real registry, real terraform, moto's Batch running the job
container. The tests of this module run in order on one repository copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchplane.images.lock import read_lock
from tests.integration.lifecycle_support import LocalRepo, make_local_repo

ACCOUNT = "111111111111"
SAMPLE = Path("job_images/csv-ingest/sample/sample.csv")


def _engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    if not _engine_answers():
        pytest.fail("no Docker engine answers: `make test` starts one (scripts/with-docker.sh)")
    os.environ.setdefault("BATCHPLANE_BASE_IMAGE", "batchplane/python-base:bookworm")
    local = make_local_repo(tmp_path_factory.mktemp("up-e2e") / "repo", pinned=False)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=local.root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=local.root, check=True)
    subprocess.run([*git, "commit", "-qm", "example"], cwd=local.root, check=True)
    yield local
    local.run("local", "stop")


def _up(repo: LocalRepo) -> dict[str, Any]:
    result = repo.run("up", "--env", "dev", "--local", "--json", timeout=1200)
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _registry(repo: LocalRepo) -> str:
    data = json.loads((repo.root / ".batchplane/local/registry.json").read_text())
    return f"127.0.0.1:{data['port']}"


def _active_definitions(repo: LocalRepo, name: str) -> list[dict[str, Any]]:
    batch = repo.client("batch", ACCOUNT)
    found: list[dict[str, Any]] = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
    return sorted(found, key=lambda d: d["revision"])


def test_up_builds_pushes_pins_and_applies(repo: LocalRepo) -> None:
    answer = _up(repo)
    assert answer["applied"] is True
    assert {i["image"]: i["action"] for i in answer["images"]} == {
        "csv-ingest": "pushed",
        "data-quality": "pushed",
        "report": "pushed",
    }
    entry = read_lock(repo.root).entry("csv-ingest", "dev")
    assert entry is not None
    assert entry.tag.startswith("git-")
    registry = _registry(repo)
    image = _active_definitions(repo, "acme-dev-csv-ingest")[-1]["containerProperties"]["image"]
    assert image == f"{registry}/acme/csv-ingest@{entry.digest}"
    request = urllib.request.Request(
        f"http://{registry}/v2/acme/csv-ingest/manifests/git-{entry.tag.removeprefix('git-')}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Docker-Content-Digest"] == entry.digest


def test_the_job_runs_and_writes_every_row(repo: LocalRepo) -> None:
    s3 = repo.client("s3", ACCOUNT)
    dynamodb = repo.client("dynamodb", ACCOUNT)
    s3.create_bucket(Bucket="acme-input", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.upload_file(str(repo.root / SAMPLE), "acme-input", "incoming/sample.csv")
    dynamodb.create_table(
        TableName="acme-products",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    submitted = repo.run("jobs", "submit", "csv-ingest", "--env", "dev", "--local", "--wait", "--json", timeout=600)
    assert submitted.returncode == 0, submitted.stderr
    final = json.loads(submitted.stdout)
    assert final["status"] == "SUCCEEDED"
    ids = {line.split(",")[0] for line in (repo.root / SAMPLE).read_text().splitlines()[1:] if line.strip()}
    items = dynamodb.scan(TableName="acme-products")["Items"]
    assert {item["id"]["S"] for item in items} == ids
    logs = repo.run("jobs", "logs", final["job_id"], "--env", "dev", "--local")
    assert logs.returncode == 0, logs.stderr
    assert f"{len(ids)} items written to acme-products" in logs.stdout
    status = repo.run("jobs", "status", final["job_id"], "--env", "dev", "--local", "--json")
    assert json.loads(status.stdout)["status"] == "SUCCEEDED"


def _job_ended(repo: LocalRepo, job_id: str, timeout: float = 300) -> dict[str, Any]:
    batch = repo.client("batch", ACCOUNT)
    deadline = time.monotonic() + timeout
    while True:
        [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
            found: dict[str, Any] = job
            return found
        time.sleep(2)


def test_a_schedule_fired_now_runs_its_job(repo: LocalRepo) -> None:
    fired = repo.run("local", "fire", "csv-ingest", "--env", "dev", "--json")
    assert fired.returncode == 0, fired.stderr
    answer = json.loads(fired.stdout)
    assert answer["schedule"].endswith(":schedule/default/acme-dev-csv-ingest")
    assert _job_ended(repo, answer["started"])["status"] == "SUCCEEDED"
    unscheduled = repo.run("local", "fire", "csv-ingst", "--env", "dev")
    assert unscheduled.returncode == 2
    assert "did you mean 'csv-ingest'?" in unscheduled.stderr


def test_an_upload_to_the_trigger_bucket_runs_the_job_with_its_key(repo: LocalRepo) -> None:
    s3 = repo.client("s3", ACCOUNT)
    s3.put_bucket_notification_configuration(
        Bucket="acme-input", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.upload_file(str(repo.root / SAMPLE), "acme-input", "incoming/uploaded.csv")
    batch = repo.client("batch", ACCOUNT)
    wanted = "s3://acme-input/incoming/uploaded.csv"
    deadline = time.monotonic() + 120
    triggered: list[dict[str, Any]] = []
    while not triggered and time.monotonic() < deadline:
        listed = batch.list_jobs(jobQueue="acme-dev-default", filters=[{"name": "JOB_NAME", "values": ["*"]}])
        ids = [summary["jobId"] for summary in listed["jobSummaryList"]]
        described = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
        triggered = [job for job in described if job.get("parameters", {}).get("input") == wanted]
        time.sleep(2)
    assert len(triggered) == 1, "no job was submitted for the upload"
    assert triggered[0]["jobDefinition"].split("/")[-1].startswith("acme-dev-csv-ingest:")
    assert _job_ended(repo, triggered[0]["jobId"])["status"] == "SUCCEEDED"


def _pipeline(repo: LocalRepo) -> tuple[int, dict[str, Any], str]:
    ran = repo.run("pipelines", "run", "nightly", "--env", "dev", "--local", "--wait", "--json", timeout=600)
    return ran.returncode, json.loads(ran.stdout), ran.stderr


def test_a_pipeline_whose_middle_step_fails_stops_its_dependents(repo: LocalRepo) -> None:
    dynamodb = repo.client("dynamodb", ACCOUNT)
    dynamodb.put_item(TableName="acme-products", Item={"id": {"S": "bad"}, "name": {"S": "x"}, "price": {"N": "-1"}})
    code, execution, stderr = _pipeline(repo)
    dynamodb.delete_item(TableName="acme-products", Key={"id": {"S": "bad"}})
    assert code == 5, stderr
    assert (execution["status"], execution["failed_step"]) == ("FAILED", "check")
    steps = {step["name"]: step for step in execution["steps"]}
    assert (steps["ingest"]["status"], steps["check"]["status"]) == ("SUCCEEDED", "FAILED")
    assert steps["report"]["status"] == "NOT_RUN"
    assert steps["report"]["job_id"] is None


def test_the_example_pipeline_runs_its_steps_in_order_and_its_array_step_by_index(repo: LocalRepo) -> None:
    repo.client("s3", ACCOUNT).create_bucket(
        Bucket="acme-reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    code, execution, stderr = _pipeline(repo)
    assert code == 0, stderr
    assert execution["status"] == "SUCCEEDED"
    ingest, check, report = (execution["steps"][i] for i in range(3))
    assert [ingest["name"], check["name"], report["name"]] == ["ingest", "check", "report"]
    # Dependency order, from Batch's own timestamps: each step starts after the one before it ended.
    assert ingest["stopped_at"] <= check["started_at"]
    assert check["stopped_at"] <= report["created_at"]
    assert [child["index"] for child in report["children"]] == [0, 1, 2, 3]
    assert {child["status"] for child in report["children"]} == {"SUCCEEDED"}
    # Each child summarised its own partition: it learned its index (and the size) from AWS Batch.
    keys = [o["Key"] for o in repo.client("s3", ACCOUNT).list_objects_v2(Bucket="acme-reports")["Contents"]]
    assert sorted(key.rsplit("-part-", 1)[1] for key in keys) == [f"{i}-of-4.json" for i in range(4)]


def test_a_second_up_does_nothing(repo: LocalRepo) -> None:
    _up(repo)  # the first up may leave the shared root to converge once more (records its empty plan)
    lock_before = (repo.root / "images.lock.json").read_bytes()
    answer = _up(repo)
    print(f"second up: {answer['seconds']} s")  # the figure for the closing note; not a timed assertion
    assert answer["applied"] is False
    assert answer["shared"] == "no changes"
    assert {i["action"] for i in answer["images"]} == {"up-to-date"}
    assert (repo.root / "images.lock.json").read_bytes() == lock_before


def test_changed_code_rebuilds_only_that_image(repo: LocalRepo) -> None:
    job = repo.root / "job_images/csv-ingest/csv_ingest/job.py"
    job.write_text(job.read_text() + "\n# a change to the job's code\n")
    answer = _up(repo)
    assert {i["image"]: i["action"] for i in answer["images"]} == {
        "csv-ingest": "pushed",
        "data-quality": "up-to-date",
        "report": "up-to-date",
    }
    assert answer["applied"] is True
    assert read_lock(repo.root).entry("csv-ingest", "dev").tag.endswith("-dirty")  # type: ignore[union-attr]
    assert len(_active_definitions(repo, "acme-dev-csv-ingest")) == 2
    assert len(_active_definitions(repo, "acme-dev-data-quality")) == 1
    assert len(_active_definitions(repo, "acme-dev-nightly-report")) == 1


def test_a_registry_gone_during_push_fails_and_keeps_the_lock(repo: LocalRepo) -> None:
    state = json.loads((repo.root / ".batchplane/local/registry.json").read_text())
    os.kill(int(state["pid"]), signal.SIGTERM)  # gone, as if it crashed: its state file stays
    job = repo.root / "job_images/csv-ingest/csv_ingest/job.py"
    job.write_text(job.read_text() + "\n# another change\n")
    lock_before = (repo.root / "images.lock.json").read_bytes()
    failed = repo.run("images", "build", "csv-ingest", "--push", "--env", "dev", "--local", timeout=600)
    assert failed.returncode == 5, failed.stderr
    assert f"registry 127.0.0.1:{state['port']}" in failed.stderr
    assert (repo.root / "images.lock.json").read_bytes() == lock_before
    restarted = repo.run("local", "start", "--registry-port", str(state["port"]))
    assert restarted.returncode == 0, restarted.stderr


def test_unknown_image_and_unpinned_production(repo: LocalRepo) -> None:
    unknown = repo.run("images", "build", "no-such-image")
    assert unknown.returncode == 2
    assert "no job image named no-such-image" in unknown.stderr
    refused = repo.run("plan", "--env", "prod", "--local")
    assert refused.returncode == 4
    assert "promote" in refused.stderr


def _image_of(repo: LocalRepo, env: str, account: str) -> str:
    batch = repo.client("batch", account)
    found = batch.describe_job_definitions(jobDefinitionName=f"acme-{env}-csv-ingest", status="ACTIVE")
    latest = max(found["jobDefinitions"], key=lambda d: d["revision"])
    image: str = latest["containerProperties"]["image"]
    return image


def test_promotion_moves_only_applied_digests_dev_to_test_to_prod(repo: LocalRepo) -> None:
    # A digest pushed and pinned for dev but never applied there cannot be promoted.
    job = repo.root / "job_images/csv-ingest/csv_ingest/job.py"
    job.write_text(job.read_text() + "\n# a change not yet applied in dev\n")
    pushed = repo.run("images", "build", "csv-ingest", "--push", "--env", "dev", "--local", timeout=600)
    assert pushed.returncode == 0, pushed.stderr
    refused = repo.run("promote", "--from", "dev", "--to", "test", "--local")
    assert refused.returncode == 4
    assert "no successful apply of dev" in refused.stderr
    lock = read_lock(repo.root)
    assert lock.entry("csv-ingest", "test") is None  # nothing written

    _up(repo)  # dev now runs it
    digest = read_lock(repo.root).entry("csv-ingest", "dev").digest  # type: ignore[union-attr]
    promoted = repo.run("promote", "--from", "dev", "--to", "test", "--local", "--json")
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["written"] is True
    assert read_lock(repo.root).entry("csv-ingest", "test").digest == digest  # type: ignore[union-attr]
    applied = repo.run("apply", "--env", "test", "--local", "--plan-if-missing", timeout=1200)
    assert applied.returncode == 0, applied.stderr

    unapproved = repo.run("promote", "--from", "test", "--to", "prod", "--local")
    assert unapproved.returncode == 4
    assert "--approve-production" in unapproved.stderr
    promoted = repo.run("promote", "--from", "test", "--to", "prod", "--local", "--approve-production")
    assert promoted.returncode == 0, promoted.stderr
    applied = repo.run("apply", "--env", "prod", "--local", "--plan-if-missing", "--approve-production", timeout=1200)
    assert applied.returncode == 0, applied.stderr

    registry = _registry(repo)
    for env, account in (("dev", "111111111111"), ("test", "222222222222"), ("prod", "333333333333")):
        assert _image_of(repo, env, account) == f"{registry}/acme/csv-ingest@{digest}", env
    promotions = [
        json.loads(line)
        for line in (repo.root / ".batchplane/local/history.jsonl").read_text().splitlines()
        if '"promoted"' in line
    ]
    assert {(p["from"], p["to"], p["image"]) for p in promotions} >= {
        ("dev", "test", "csv-ingest"),
        ("test", "prod", "csv-ingest"),
    }


def test_a_new_job_type_is_scaffolded_applied_and_runs(repo: LocalRepo) -> None:
    created = repo.run("jobs", "new", "report-export")
    assert created.returncode == 0, created.stderr
    assert repo.run("validate").returncode == 0
    checked = repo.run("check", "--spec-only")
    assert checked.returncode == 0, checked.stdout
    answer = _up(repo)  # renders, runs the whole gate (Checkov included), builds, pushes, applies
    assert {i["image"]: i["action"] for i in answer["images"]}["report-export"] == "pushed"
    submitted = repo.run("jobs", "submit", "report-export", "--env", "dev", "--local", "--wait", "--json", timeout=600)
    assert submitted.returncode == 0, submitted.stderr
    assert json.loads(submitted.stdout)["status"] == "SUCCEEDED"

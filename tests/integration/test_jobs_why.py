"""`jobs why` on the embedded AWS: a job that cannot be placed, and a job that failed.

A small platform of its own (one EC2 compute environment of m4.large, one queue,
one job whose command exits 1) is rendered by the real CLI and applied by the real
modules with terraform, as test_apply_dev does. The job really runs in Docker.
`jobs why` then runs as a user runs it against AWS: the real CLI, without
``--local``, its boto3 clients pointed at the emulator by ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchplane.local.accounts import bootstrap_account, emulator_client
from batchplane.local.workcopy import prepare_workdir
from batchplane.terraform.runner import TerraformRunner
from tests.conftest import REPO

ENV = "dev"
ACCOUNT = "444444444444"  # an account of its own: other tests may share this worker's emulator
REGION = "eu-west-1"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/whyco/fail:latest"  # the unpinned reference render writes
BASE_IMAGE = "batchplane/python-base:bookworm"
SPEC: dict[str, Any] = {
    "version": 1,
    "name": "whyco",
    "region": REGION,
    "state": {"backend": "local"},
    "registry": {"type": "ecr"},
    "environments": {
        ENV: {
            "account_id": ACCOUNT,
            "tier": "development",
            "network": {"create": True, "cidr": "10.40.0.0/16", "availability_zones": 1},
            "max_vcpus": 16,
        }
    },
    "compute": {"small": {"kind": "ec2", "instance_types": ["m4.large"], "max_vcpus": 4}},
    "queues": {"default": {"priority": 1, "compute": ["small"]}},
    "jobs": {
        "fail": {
            "image": "fail",
            "queue": "default",
            "vcpus": 1,
            "memory_mib": 1024,
            "command": ["python3", "-c", "print('reading input'); print('no rows in input'); raise SystemExit(1)"],
            "timeout": "10m",
            "retry": {"attempts": 1},
            "interruptible": False,
        }
    },
}


@dataclass(frozen=True)
class Platform:
    spec: Path
    endpoint: str
    batch: Any
    access_key: str

    def why(self, job_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """The real CLI, as against AWS: credentials and endpoint from the environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # The emulator places a call in the account that owns the access key; it checks no signature.
        env |= {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
        }
        command = [sys.executable, "-m", "batchplane", "jobs", "why", job_id, "--env", ENV, "--spec", str(self.spec)]
        return subprocess.run([*command, *extra], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def platform(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    repo = tmp_path_factory.mktemp("why")
    (repo / "platform.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False), encoding="utf-8")
    (repo / "job_images" / "fail").mkdir(parents=True)
    (repo / "job_images" / "fail" / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n", encoding="utf-8")
    shutil.copytree(REPO / "modules", repo / "modules")
    rendered = subprocess.run(
        [sys.executable, "-m", "batchplane", "render", "--spec", str(repo / "platform.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    access_key = bootstrap_account(moto_endpoint, ACCOUNT, REGION)
    runner = TerraformRunner(prepare_workdir(repo, ENV, moto_endpoint, ACCOUNT))
    runner.init()
    runner.run("apply", "-auto-approve", "-no-color", input=False, timeout=900)
    # The job's image, as the job definition names it: the base image, which has python3.
    subprocess.run(["docker", "tag", BASE_IMAGE, IMAGE], check=True, capture_output=True, timeout=60)
    try:
        batch = emulator_client(moto_endpoint, ACCOUNT, "batch", REGION)
        yield Platform(repo / "platform.yaml", moto_endpoint, batch, access_key)
    finally:
        subprocess.run(["docker", "rmi", IMAGE], check=False, capture_output=True, timeout=60)


def _status(batch: Any, job_id: str) -> str:
    return str(batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"])


def _until(batch: Any, job_id: str, wanted: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while (status := _status(batch, job_id)) not in wanted:
        assert time.monotonic() < deadline, f"job {job_id} still {status} after {timeout:.0f} s"
        time.sleep(0.2)
    return status


def _state_manager(endpoint: str, action: str, body: dict[str, Any]) -> None:
    """moto's state manager (server mode): how fast its Batch jobs move from one status to the next."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/state-manager/{action}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


def test_a_job_that_cannot_be_placed_names_the_memory_and_the_largest_instance(platform: Platform) -> None:
    """16 GiB on m4.large compute: it would sit in RUNNABLE forever on AWS; moto is held there by its state manager."""
    # moto places every job: its jobs move one status per 8 s until this one is RUNNABLE, then stop moving.
    _state_manager(
        platform.endpoint,
        "set-transition",
        {"model_name": "batch::job", "transition": {"progression": "time", "seconds": 8}},
    )
    job_id = ""
    try:
        job_id = platform.batch.submit_job(
            jobName="whyco-dev-fail",
            jobQueue="whyco-dev-default",
            jobDefinition="whyco-dev-fail",
            # AWS reads resourceRequirements; moto's DescribeJobs shows only the older `memory` override.
            containerOverrides={"resourceRequirements": [{"type": "MEMORY", "value": "16384"}], "memory": 16384},
        )["jobId"]
        reached = _until(platform.batch, job_id, {"RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}, timeout=90)
        assert reached == "RUNNABLE", f"the job moved on to {reached} before the state manager held it"
        _state_manager(
            platform.endpoint,
            "set-transition",
            {"model_name": "batch::job", "transition": {"progression": "manual", "times": 10**9}},
        )
        assert _status(platform.batch, job_id) == "RUNNABLE"

        answer = platform.why(job_id, "--json")
        assert answer.returncode == 0, answer.stderr
        found = json.loads(answer.stdout)
        assert found["cause"] == "unplaceable"
        assert found["verdict"].startswith("cannot be placed: needs 16384 MiB memory")
        assert "m4.large (2 vCPU, 7953 MiB usable of 8192 MiB, no GPU)" in found["verdict"]
        assert found["job"]["status"] == "RUNNABLE"
        assert found["job"]["needs"] == {"vcpus": 1.0, "memory_mib": 16384, "gpus": 0}
        assert (found["queue"]["state"], found["queue"]["status"]) == ("ENABLED", "VALID")
        [compute] = found["compute"]
        assert (compute["state"], compute["type"], compute["instance_types"], compute["max_vcpus"]) == (
            "ENABLED",
            "EC2",
            ["m4.large"],
            4,
        )
        assert compute["fits"] is False

        text = platform.why(job_id)
        assert text.returncode == 0, text.stderr
        assert text.stdout.splitlines()[0] == found["verdict"]
        assert "queue     whyco-dev-default: ENABLED, VALID" in text.stdout
    finally:
        _state_manager(platform.endpoint, "unset-transition", {"model_name": "batch::job"})
        if job_id:
            platform.batch.terminate_job(jobId=job_id, reason="test over")


def test_a_job_that_failed_shows_its_exit_code_and_last_log_lines(platform: Platform) -> None:
    job_id = platform.batch.submit_job(
        jobName="whyco-dev-fail", jobQueue="whyco-dev-default", jobDefinition="whyco-dev-fail"
    )["jobId"]
    assert _until(platform.batch, job_id, {"SUCCEEDED", "FAILED"}, timeout=240) == "FAILED"

    answer = platform.why(job_id, "--json")
    assert answer.returncode == 0, answer.stderr
    found = json.loads(answer.stdout)
    assert (found["cause"], found["job"]["status"], found["job"]["exit_code"]) == ("failed", "FAILED", 1)
    assert found["verdict"].startswith("failed: exit code 1")
    assert found["logs"][-2:] == ["reading input", "no rows in input"]

    text = platform.why(job_id)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("failed: exit code 1")
    assert "  no rows in input" in text.stdout

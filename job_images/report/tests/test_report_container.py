"""report's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.nightly-report` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from batchplane.errors import ToolError
from batchplane.images.build import context_tar, docker_client
from batchplane.images.sources import sources
from batchplane.local.emulator import start_emulator, wait_until_healthy
from batchplane.local.processes import stop_process
from batchplane.spec import load_spec
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage

pytestmark = pytest.mark.integration

IMAGE = Path(__file__).resolve().parents[1]
REPO = IMAGE.parents[1]
SPEC = load_spec(REPO / "platform.yaml")
JOB = SPEC.platform.jobs["nightly-report"]
# Ryuk, testcontainers' reaper, is an image pulled from Docker Hub; every container here is
# removed by its `with` block instead.
testcontainers_config.ryuk_disabled = True

Client = Callable[[str], Any]


@dataclass(frozen=True)
class Finished:
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The image's tag; the tag (not the layers, the build cache) is removed afterwards."""
    try:
        docker_client()
    except ToolError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI: {error}")
        pytest.skip(f"no Docker engine: {error}")
    (source,) = sources(REPO, [IMAGE.name])
    tag = f"batchplane-test/{IMAGE.name}:{uuid.uuid4().hex[:12]}"
    built = DockerImage(
        path=IMAGE,  # docker-py sends fileobj, the custom context, instead
        tag=tag,
        clean_up=False,
        custom_context=True,
        fileobj=io.BytesIO(context_tar(source)),
        buildargs=dict(source.build_args),
        network_mode="host",
        pull=False,
        forcerm=True,
    ).build()
    try:
        yield tag
    finally:
        built.get_docker_client().client.images.remove(tag)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto server on a free loopback port, started as `--local` starts it, stopped by PID."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = start_emulator(port, tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", timeout=60, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process.pid)


@pytest.fixture
def aws(endpoint: str) -> Client:
    """Clients of an emptied moto, with the credentials the job gets."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    return lambda service: boto3.client(service, **_connection(endpoint))


def _connection(endpoint: str) -> dict[str, str]:
    return {
        "endpoint_url": endpoint,
        "region_name": SPEC.platform.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def run_job(image: str, endpoint: str, **parameters: str) -> Finished:
    """Run the job's command (Ref::name filled from `parameters`, else the spec's defaults) to its end."""
    values = {**JOB.parameters, **parameters}
    command = [values[word.removeprefix("Ref::")] if word.startswith("Ref::") else word for word in JOB.command]
    environment = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": SPEC.platform.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **JOB.environment,
    }
    job = DockerContainer(image).with_command(command).with_envs(**environment).with_kwargs(network_mode="host")
    with job:
        status = job.get_wrapped_container().wait(timeout=120)
        stdout, stderr = job.get_logs()
    return Finished(int(status["StatusCode"]), (stdout + stderr).decode())


# --- the job -----------------------------------------------------------------------


TABLE = JOB.command[JOB.command.index("--table") + 1]
PRODUCTS = [
    {"id": "P-1", "name": "Beans", "category": "coffee", "price": "24.90", "stock": "120"},
    {"id": "P-2", "name": "Filter", "category": "coffee", "price": "11.50", "stock": "340"},
    {"id": "P-3", "name": "Tea", "category": "tea", "price": "6.80"},
]


def bucket_and_prefix() -> tuple[str, str]:
    bucket, _, prefix = JOB.parameters["output"].removeprefix("s3://").partition("/")
    return bucket, prefix


def create_bucket(aws: Client) -> None:
    aws("s3").create_bucket(
        Bucket=bucket_and_prefix()[0], CreateBucketConfiguration={"LocationConstraint": SPEC.platform.region}
    )


def written(aws: Client) -> dict[str, Any]:
    """The objects under the spec's output prefix, parsed as JSON, by key."""
    bucket, prefix = bucket_and_prefix()
    listed = aws("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    keys = [entry["Key"] for entry in listed]
    return {key: json.loads(aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys}


def test_the_spec_command_writes_the_summary_of_the_table(image: str, endpoint: str, aws: Client) -> None:
    create_bucket(aws)
    aws("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for product in PRODUCTS:
        aws("dynamodb").put_item(TableName=TABLE, Item={name: {"S": value} for name, value in product.items()})

    finished = run_job(image, endpoint)

    assert finished.exit_code == 0, finished.output
    ((key, summary),) = written(aws).items()
    assert re.fullmatch(rf"{bucket_and_prefix()[1]}report-\d{{8}}T\d{{6}}Z\.json", key)
    assert (summary["table"], summary["rows"], summary["groups"]) == (TABLE, 3, {"coffee": 2, "tea": 1})
    assert summary["numeric"]["price"] == {"max": 24.9, "mean": 14.4, "min": 6.8, "sum": 43.2}
    assert summary["filled"] == {"category": 3, "id": 3, "name": 3, "price": 3, "stock": 2}
    assert f"INFO report: done: summary of 3 rows at s3://{bucket_and_prefix()[0]}/{key}\n" in finished.output


def test_a_missing_table_exits_3_and_writes_nothing(image: str, endpoint: str, aws: Client) -> None:
    create_bucket(aws)

    finished = run_job(image, endpoint)

    assert finished.exit_code == 3, finished.output
    assert written(aws) == {}
    assert "ERROR report: AWS call failed:" in finished.output

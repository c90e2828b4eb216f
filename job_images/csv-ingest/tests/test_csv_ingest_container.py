"""csv-ingest's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.csv-ingest` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

import csv
import io
import os
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
JOB = SPEC.platform.jobs["csv-ingest"]
SAMPLE = IMAGE / "sample" / "sample.csv"
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


def create_input(aws: Client, key: str, body: bytes) -> str:
    """The spec's bucket holding one object, and its table (hash key id, a string)."""
    bucket, _, _ = JOB.parameters["input"].removeprefix("s3://").partition("/")
    region = SPEC.platform.region
    aws("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    aws("s3").put_object(Bucket=bucket, Key=key, Body=body)
    aws("dynamodb").create_table(
        TableName=JOB.environment["TABLE_NAME"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return f"s3://{bucket}/{key}"


def items(aws: Client) -> dict[str, dict[str, str]]:
    scanned = aws("dynamodb").scan(TableName=JOB.environment["TABLE_NAME"])["Items"]
    return {item["id"]["S"]: {name: value["S"] for name, value in item.items()} for item in scanned}


def test_the_spec_command_loads_the_sample_into_the_table(image: str, endpoint: str, aws: Client) -> None:
    source = create_input(aws, "incoming/sample.csv", SAMPLE.read_bytes())
    assert source == JOB.parameters["input"]  # the default of Ref::input

    finished = run_job(image, endpoint)

    assert finished.exit_code == 0, finished.output
    with SAMPLE.open(newline="") as handle:
        assert items(aws) == {row["id"]: row for row in csv.DictReader(handle)}
    assert f"INFO csv-ingest: done: 15 items written to {JOB.environment['TABLE_NAME']}\n" in finished.output


def test_a_row_without_a_key_exits_1_and_writes_nothing(image: str, endpoint: str, aws: Client) -> None:
    source = create_input(aws, "incoming/broken.csv", b"id,name\nP-1,ok\n,no key\n")

    finished = run_job(image, endpoint, input=source)

    assert finished.exit_code == 1, finished.output
    assert items(aws) == {}
    assert "line 3: empty 'id'" in finished.output

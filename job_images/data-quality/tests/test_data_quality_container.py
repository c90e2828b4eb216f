"""data-quality's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.data-quality` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

import io
import os
import socket
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
JOB = SPEC.platform.jobs["data-quality"]
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
NAMESPACE = "Batchplane/DataQuality"  # the job's default
GOOD = [
    {"id": "P-1", "name": "Beans", "price": "24.90"},
    {"id": "P-2", "name": "Filter", "price": "11.50", "stock": "3"},
]


def create_table(aws: Client, *rows: dict[str, str]) -> None:
    aws("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for row in rows:
        aws("dynamodb").put_item(TableName=TABLE, Item={name: {"S": value} for name, value in row.items()})


def metric_sum(aws: Client, name: str, **dimensions: str) -> float:
    now = datetime.now(UTC)
    statistics = aws("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "Table", "Value": TABLE}, *({"Name": k, "Value": v} for k, v in dimensions.items())],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in statistics["Datapoints"]))


def test_the_spec_command_passes_a_clean_table_and_publishes_its_metrics(
    image: str, endpoint: str, aws: Client
) -> None:
    create_table(aws, *GOOD)

    finished = run_job(image, endpoint)

    assert finished.exit_code == 0, finished.output
    assert (metric_sum(aws, "RowsChecked"), metric_sum(aws, "FailedChecks")) == (2, 0)
    assert "INFO data-quality: result: all 4 checks passed on 2 rows\n" in finished.output


def test_bad_rows_exit_1_and_are_counted_per_check(image: str, endpoint: str, aws: Client) -> None:
    create_table(aws, *GOOD, {"id": "P-3", "name": "Tea", "price": "-1"}, {"id": "P-9", "price": "2"})

    finished = run_job(image, endpoint)

    assert finished.exit_code == 1, finished.output
    assert metric_sum(aws, "FailedChecks") == 2
    assert metric_sum(aws, "Violations", Check="required_fields") == 1
    assert metric_sum(aws, "Violations", Check="numeric_fields") == 1
    assert "result: 2 of 4 checks failed (required_fields, numeric_fields)" in finished.output

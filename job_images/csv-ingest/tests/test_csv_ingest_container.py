"""csv-ingest's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.csv-ingest` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from batchplane.images.containers import Client, Finished, built_image, moto_server, require_engine, reset
from batchplane.images.containers import run_job as run_in_container
from batchplane.spec import load_spec

pytestmark = pytest.mark.integration

IMAGE = Path(__file__).resolve().parents[1]
REPO = IMAGE.parents[1]
SPEC = load_spec(REPO / "platform.yaml")
JOB = SPEC.platform.jobs["csv-ingest"]
REGION = SPEC.platform.region
SAMPLE = IMAGE / "sample" / "sample.csv"


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The image built as `batchplane images build` builds it; its test tag is removed afterwards."""
    require_engine()
    with built_image(REPO, IMAGE.name) as tag:
        yield tag


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto server on a free loopback port, as `--local` starts it."""
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def aws(endpoint: str) -> Client:
    """Clients of an emptied moto, with the credentials the job gets."""
    return reset(endpoint, REGION)


def run_job(image: str, endpoint: str, *arguments: str, **parameters: str) -> Finished:
    """The job's command (Ref::name from `parameters`, else the spec's defaults) run to its end."""
    return run_in_container(image, endpoint, REGION, JOB, *arguments, **parameters)


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

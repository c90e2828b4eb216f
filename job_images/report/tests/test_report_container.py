"""report's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.nightly-report` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batchplane.images.containers import Client, Finished, built_image, moto_server, require_engine, reset
from batchplane.images.containers import run_job as run_in_container
from batchplane.spec import load_spec

pytestmark = pytest.mark.integration

IMAGE = Path(__file__).resolve().parents[1]
REPO = IMAGE.parents[1]
SPEC = load_spec(REPO / "platform.yaml")
JOB = SPEC.platform.jobs["nightly-report"]
REGION = SPEC.platform.region


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


def test_a_child_of_an_array_job_writes_the_summary_of_its_partition(image: str, endpoint: str, aws: Client) -> None:
    create_bucket(aws)
    aws("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for product in PRODUCTS:
        aws("dynamodb").put_item(TableName=TABLE, Item={name: {"S": value} for name, value in product.items()})
    # What AWS Batch sets in the second child of an array job of 2.
    child = JOB.model_copy(update={"environment": {**JOB.environment, "AWS_BATCH_JOB_ARRAY_INDEX": "1"}})

    finished = run_in_container(image, endpoint, REGION, child, "--partitions", "2")

    assert finished.exit_code == 0, finished.output
    ((key, summary),) = written(aws).items()
    assert re.fullmatch(rf"{bucket_and_prefix()[1]}report-\d{{8}}T\d{{6}}Z-part-1-of-2\.json", key)
    assert summary["partition"] == {"index": 1, "of": 2}
    assert summary["rows"] <= len(PRODUCTS)
    assert f"scanning DynamoDB table {TABLE}, partition 1 of 2" in finished.output

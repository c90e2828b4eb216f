"""data-quality's image, run with testcontainers against the embedded AWS (moto server).

The image is built from the context `batchplane images build` sends (the files .dockerignore
keeps, plus the host's CA bundle) and runs the command and environment of `jobs.data-quality` in
platform.yaml, on the host network: it reaches moto at http://127.0.0.1:PORT, as job containers
of `--local` do. Needs a Docker engine (`make test` starts one): without one these tests skip,
and fail under CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from batchplane.images.containers import Client, Finished, built_image, moto_server, require_engine, reset
from batchplane.images.containers import run_job as run_in_container
from batchplane.spec import load_spec

pytestmark = pytest.mark.integration

IMAGE = Path(__file__).resolve().parents[1]
REPO = IMAGE.parents[1]
SPEC = load_spec(REPO / "platform.yaml")
JOB = SPEC.platform.jobs["data-quality"]
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

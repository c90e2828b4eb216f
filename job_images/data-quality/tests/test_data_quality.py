"""data-quality against moto's in-process AWS (mock_aws): no Docker, no server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from data_quality.job import (
    DEFAULT_NAMESPACE,
    EXIT_AWS,
    EXIT_CHECKS_FAILED,
    EXIT_OK,
    check_duplicate_ids,
    check_numeric,
    check_required,
    main,
)

REGION = "eu-west-1"
TABLE = "acme-products"
GOOD = [
    {"id": "P-1", "name": "Beans", "price": "24.90"},
    {"id": "P-2", "name": "Filter", "price": "11.50", "stock": "3"},
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty products table in moto's in-process AWS."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "REQUIRED_FIELDS", "NUMERIC_FIELDS", "METRIC_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield


def put(*items: dict[str, Any]) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    for item in items:
        table.put_item(Item=item)


def metric_sum(name: str, **dimensions: str) -> float:
    now = datetime.now(UTC)
    statistics = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace=DEFAULT_NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "Table", "Value": TABLE}, *({"Name": k, "Value": v} for k, v in dimensions.items())],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in statistics["Datapoints"]))


@pytest.mark.usefixtures("aws")
def test_a_clean_table_passes_and_publishes_zero_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="data-quality")
    put(*GOOD)

    assert main(["--table", TABLE]) == EXIT_OK

    assert metric_sum("RowsChecked") == 2
    assert metric_sum("FailedChecks") == 0
    assert "result: all 4 checks passed on 2 rows" in caplog.text


@pytest.mark.usefixtures("aws")
def test_bad_rows_fail_the_job_and_are_counted_per_check(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="data-quality")
    put(*GOOD, {"id": "p-1 ", "name": "Beans again", "price": "-1"}, {"id": "P-9", "price": "cheap"})

    assert main(["--table", TABLE]) == EXIT_CHECKS_FAILED

    assert metric_sum("FailedChecks") == 3
    assert metric_sum("Violations", Check="required_fields") == 1
    assert metric_sum("Violations", Check="duplicate_ids") == 1
    assert metric_sum("Violations", Check="numeric_fields") == 2
    assert metric_sum("Violations", Check="min_rows") == 0
    assert "P-9: missing name" in caplog.text
    assert "result: 3 of 4 checks failed (required_fields, duplicate_ids, numeric_fields)" in caplog.text


@pytest.mark.usefixtures("aws")
def test_an_empty_table_fails_the_minimum_row_check() -> None:
    assert main(["--table", TABLE]) == EXIT_CHECKS_FAILED
    assert main(["--table", TABLE, "--min-rows", "0"]) == EXIT_OK


@pytest.mark.usefixtures("aws")
def test_fields_and_namespace_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    put({"id": "A", "colour": "red"})
    monkeypatch.setenv("REQUIRED_FIELDS", "id,colour")
    monkeypatch.setenv("NUMERIC_FIELDS", "")
    monkeypatch.setenv("METRIC_NAMESPACE", "Acme/Quality")

    assert main(["--table", TABLE]) == EXIT_OK

    metrics = boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace="Acme/Quality")["Metrics"]
    assert {metric["MetricName"] for metric in metrics} == {"RowsChecked", "FailedChecks", "Violations"}


@pytest.mark.usefixtures("aws")
def test_a_missing_table_is_an_aws_error() -> None:
    assert main(["--table", "no-such-table"]) == EXIT_AWS


def test_required_fields_treat_blank_as_missing() -> None:
    result = check_required([{"id": "1", "name": " "}, {"id": "2", "name": "x"}], ["id", "name"])

    assert result.violations == ("1: missing name",)


def test_ids_equal_up_to_case_and_spaces_are_duplicates() -> None:
    result = check_duplicate_ids([{"id": "A-1"}, {"id": " a-1"}, {"id": "A-2"}])

    assert result.violations == ("same id: ' a-1', 'A-1'",)


@pytest.mark.parametrize("value", ["abc", "-0.5", "NaN", "Infinity", True])
def test_numeric_fields_reject_non_numbers_and_negatives(value: object) -> None:
    assert not check_numeric([{"id": "1", "price": value}], ["price"]).passed


@pytest.mark.parametrize("value", ["0", "12.50", " 7 "])
def test_numeric_fields_accept_numbers(value: str) -> None:
    assert check_numeric([{"id": "1", "price": value}], ["price"]).passed

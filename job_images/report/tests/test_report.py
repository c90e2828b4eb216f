"""report against moto's in-process AWS (mock_aws): no Docker, no server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from report.job import EXIT_AWS, EXIT_OK, EXIT_USAGE, Partition, main, object_key, summarise

REGION = "eu-west-1"
BUCKET = "acme-reports"
TABLE = "acme-products"
NOW = datetime(2026, 11, 22, 5, 30, 0, tzinfo=UTC)
KEY = "daily/report-20261122T053000Z.json"  # the key written for NOW under s3://BUCKET/daily/
PRODUCTS = [
    {"id": "P-1", "name": "Beans", "category": "coffee", "price": "24.90", "stock": "120"},
    {"id": "P-2", "name": "Filter", "category": "coffee", "price": "11.50", "stock": "340"},
    {"id": "P-3", "name": "Tea", "category": "tea", "price": "6.80"},
    {"id": "P-4", "name": "Mug", "price": Decimal("8"), "stock": "n/a"},
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The products table with four items and an empty report bucket, in moto's in-process AWS."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("REPORT_GROUP_BY", raising=False)
    monkeypatch.delenv("REPORT_PARTITIONS", raising=False)
    monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_INDEX", raising=False)
    monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_SIZE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        table = boto3.resource("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for item in PRODUCTS:
            table.put_item(Item=item)
        yield


def read_json(key: str) -> Any:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return json.loads(body)


@pytest.mark.usefixtures("aws")
def test_writes_a_timestamped_summary_under_the_prefix() -> None:
    assert main(["--table", TABLE, "--output", f"s3://{BUCKET}/daily/"], now=NOW) == EXIT_OK

    summary = read_json(KEY)
    assert summary == {
        "table": TABLE,
        "generated_at": "2026-11-22T05:30:00Z",
        "rows": 4,
        "filled": {"category": 3, "id": 4, "name": 4, "price": 4, "stock": 3},
        "numeric": {"price": {"min": 6.8, "max": 24.9, "sum": 51.2, "mean": 12.8}},
        "group_by": "category",
        "groups": {"coffee": 2, "tea": 1},
    }


@pytest.mark.usefixtures("aws")
def test_an_output_that_is_not_a_prefix_is_the_key_and_groups_follow_the_option() -> None:
    assert main(["--table", TABLE, "--output", f"s3://{BUCKET}/latest.json", "--group-by", "name"], now=NOW) == 0

    assert read_json("latest.json")["groups"] == {"Beans": 1, "Filter": 1, "Mug": 1, "Tea": 1}


@pytest.mark.usefixtures("aws")
def test_logs_one_line_per_step(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="report"):
        main(["--table", TABLE, "--output", f"s3://{BUCKET}/daily/"], now=NOW)

    messages = [record.getMessage() for record in caplog.records if record.name == "report"]
    size = len(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert messages == [
        f"scanning DynamoDB table {TABLE}",
        "scanned 4 rows; numeric attributes: price",
        "rows per category: coffee=2, tea=1",
        f"writing s3://{BUCKET}/{KEY} ({size} bytes)",
        f"done: summary of 4 rows at s3://{BUCKET}/{KEY}",
    ]


@pytest.mark.usefixtures("aws")
def test_a_missing_table_is_an_aws_error() -> None:
    assert main(["--table", "no-such-table", "--output", f"s3://{BUCKET}/daily/"], now=NOW) == EXIT_AWS


@pytest.mark.usefixtures("aws")
def test_a_missing_bucket_is_an_aws_error() -> None:
    assert main(["--table", TABLE, "--output", "s3://no-such-bucket/daily/"], now=NOW) == EXIT_AWS


@pytest.mark.usefixtures("aws")
def test_a_table_larger_than_one_scan_page_is_read_whole() -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    filler = "x" * 40_000  # moto, like DynamoDB, ends a scan page at 1 MB
    with table.batch_writer() as batch:
        for number in range(40):
            batch.put_item(Item={"id": f"big-{number}", "blob": filler})

    main(["--table", TABLE, "--output", f"s3://{BUCKET}/r.json"], now=NOW)

    assert read_json("r.json")["rows"] == 44


def test_an_empty_table_gives_an_empty_summary() -> None:
    summary = summarise([], TABLE, "category", NOW)

    assert (summary["rows"], summary["filled"], summary["numeric"], summary["groups"]) == (0, {}, {}, {})


@pytest.mark.parametrize(
    ("prefix_or_key", "expected"),
    [("", "report-20261122T053000Z.json"), ("a/b/", "a/b/report-20261122T053000Z.json"), ("a/x.json", "a/x.json")],
)
def test_object_key(prefix_or_key: str, expected: str) -> None:
    assert object_key(prefix_or_key, NOW) == expected


@pytest.mark.parametrize("output", ["acme-reports/daily/", "s3://", "s3:///daily/"])
def test_a_malformed_output_is_a_usage_error(output: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--table", TABLE, "--output", output])

    assert exited.value.code == 2


# --- as a child of an array job --------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_each_child_of_an_array_job_summarises_its_own_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    for number in range(40):
        table.put_item(Item={"id": f"extra-{number}", "category": "extra"})

    parts = []
    for index in range(3):
        monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", str(index))
        assert main(["--table", TABLE, "--output", f"s3://{BUCKET}/daily/", "--partitions", "3"], now=NOW) == 0
        parts.append(read_json(f"daily/report-20261122T053000Z-part-{index}-of-3.json"))

    assert [part["partition"] for part in parts] == [{"index": i, "of": 3} for i in range(3)]
    assert sum(part["rows"] for part in parts) == 44  # every row in exactly one partition
    assert all(part["rows"] > 0 for part in parts)
    assert sum(part["groups"].get("extra", 0) for part in parts) == 40


@pytest.mark.usefixtures("aws")
def test_the_partition_count_may_come_from_the_environment_and_keys_keep_their_extension(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "1")
    monkeypatch.setenv("REPORT_PARTITIONS", "2")
    with caplog.at_level("INFO", logger="report"):
        assert main(["--table", TABLE, "--output", f"s3://{BUCKET}/latest.json"], now=NOW) == 0

    assert read_json("latest-part-1-of-2.json")["partition"] == {"index": 1, "of": 2}
    assert f"scanning DynamoDB table {TABLE}, partition 1 of 2" in caplog.messages


@pytest.mark.usefixtures("aws")
def test_a_child_of_an_array_job_takes_the_partition_count_from_the_array_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "3")
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_SIZE", "4")  # as AWS Batch sets it in each child
    assert main(["--table", TABLE, "--output", f"s3://{BUCKET}/daily/"], now=NOW) == 0
    assert read_json("daily/report-20261122T053000Z-part-3-of-4.json")["partition"] == {"index": 3, "of": 4}


@pytest.mark.parametrize(
    ("index", "partitions", "message"),
    [
        (None, "4", "AWS_BATCH_JOB_ARRAY_INDEX is not set: submit it as an array job of 4"),
        ("4", "4", "AWS_BATCH_JOB_ARRAY_INDEX is 4, but --partitions is 4"),
        ("2", "1", "pass the array size as --partitions (or REPORT_PARTITIONS)"),
        ("two", "4", "AWS_BATCH_JOB_ARRAY_INDEX must be a number, got 'two'"),
        (None, "0", "--partitions must be at least 1, got 0"),
    ],
)
def test_a_partition_that_does_not_fit_the_array_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    index: str | None,
    partitions: str,
    message: str,
) -> None:
    monkeypatch.delenv("AWS_BATCH_JOB_ARRAY_INDEX", raising=False)
    if index is not None:
        monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", index)
    with pytest.raises(SystemExit) as exited:
        main(["--table", TABLE, "--output", f"s3://{BUCKET}/daily/", "--partitions", partitions], now=NOW)
    assert exited.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_partition_key_goes_before_the_extension_or_at_the_end() -> None:
    part = Partition(2, 4)
    assert object_key("daily/", NOW, part) == "daily/report-20261122T053000Z-part-2-of-4.json"
    assert object_key("out/latest.json", NOW, part) == "out/latest-part-2-of-4.json"
    assert object_key("v1.2/latest", NOW, part) == "v1.2/latest-part-2-of-4"
    assert object_key("daily/", NOW) == KEY  # the whole table: no suffix

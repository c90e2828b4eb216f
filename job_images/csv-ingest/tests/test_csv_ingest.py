"""csv-ingest against moto's in-process AWS (mock_aws): no Docker, no server."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from csv_ingest.job import EXIT_AWS, EXIT_BAD_INPUT, EXIT_OK, BadInputError, main, parse_csv, parse_s3_uri

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "sample.csv"
REGION = "eu-west-1"
BUCKET = "acme-input"
TABLE = "acme-products"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A bucket and the products table (hash key id, a string), in moto's in-process AWS."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield


def put_csv(key: str, body: str | bytes) -> str:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def items() -> dict[str, dict[str, str]]:
    scanned = boto3.resource("dynamodb", region_name=REGION).Table(TABLE).scan()["Items"]
    return {item["id"]: item for item in scanned}


@pytest.mark.usefixtures("aws")
def test_every_sample_row_becomes_an_item() -> None:
    source = put_csv("incoming/sample.csv", SAMPLE.read_bytes())

    assert main([source]) == EXIT_OK

    with SAMPLE.open(newline="") as handle:
        expected = {row["id"]: row for row in csv.DictReader(handle)}
    assert items() == expected


@pytest.mark.usefixtures("aws")
def test_logs_one_line_per_step(caplog: pytest.LogCaptureFixture) -> None:
    source = put_csv("incoming/sample.csv", SAMPLE.read_bytes())

    with caplog.at_level("INFO", logger="csv-ingest"):
        main([source])

    messages = [record.getMessage() for record in caplog.records if record.name == "csv-ingest"]
    assert messages[0] == f"reading {source}"
    assert messages[-1] == f"done: 15 items written to {TABLE}"


@pytest.mark.usefixtures("aws")
def test_first_column_is_the_key_whatever_its_header_and_empty_cells_are_left_out() -> None:
    source = put_csv("in/skus.csv", "\ufeffsku,name,colour\nA-1,Mug,\nA-2,Cup,red\n")

    assert main([source]) == EXIT_OK

    assert items() == {"A-1": {"id": "A-1", "name": "Mug"}, "A-2": {"id": "A-2", "name": "Cup", "colour": "red"}}


@pytest.mark.usefixtures("aws")
def test_a_row_without_a_key_fails_the_job_and_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    source = put_csv("in/bad.csv", "id,name\nP-1,ok\n,no key\n")

    assert main([source]) == EXIT_BAD_INPUT

    assert items() == {}
    assert "line 3: empty 'id'" in caplog.text


@pytest.mark.usefixtures("aws")
def test_a_missing_object_is_an_aws_error() -> None:
    assert main([f"s3://{BUCKET}/in/missing.csv"]) == EXIT_AWS


@pytest.mark.usefixtures("aws")
def test_a_missing_table_is_an_aws_error() -> None:
    source = put_csv("incoming/sample.csv", SAMPLE.read_bytes())

    assert main([source, "--table", "no-such-table"]) == EXIT_AWS


@pytest.mark.usefixtures("aws")
def test_without_a_table_name_it_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME")

    with pytest.raises(SystemExit) as exited:
        main([f"s3://{BUCKET}/x.csv"])

    assert exited.value.code == 2


def test_duplicate_keys_keep_the_last_row() -> None:
    _, parsed, duplicates = parse_csv("id,n\na,1\nb,2\na,3\n")

    assert parsed == [{"id": "a", "n": "3"}, {"id": "b", "n": "2"}]
    assert duplicates == ["a"]


@pytest.mark.parametrize(
    "text",
    ["", ",name\nx,y\n", "id,name,name\n1,a,b\n", "key,id\n1,2\n", "id,name\n1,a,extra\n"],
    ids=["empty", "unnamed-key", "repeated-column", "second-id", "too-many-fields"],
)
def test_unstorable_csv_is_rejected(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_csv(text)


@pytest.mark.parametrize("uri", ["acme/x.csv", "s3://acme", "s3://acme/", "s3:///x.csv"])
def test_malformed_s3_uri_is_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="expected s3://BUCKET/KEY"):
        parse_s3_uri(uri)


def test_aws_endpoint_url_redirects_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # The image relies on boto3 reading AWS_ENDPOINT_URL itself (boto3 >= 1.28) to reach the emulator.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")

    for service in ("s3", "dynamodb"):
        assert boto3.client(service, region_name=REGION).meta.endpoint_url == "http://127.0.0.1:5999"

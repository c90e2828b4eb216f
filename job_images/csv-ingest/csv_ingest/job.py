"""Read s3://BUCKET/KEY as CSV and write each row to the DynamoDB table $TABLE_NAME.

The first column's value becomes the item's hash key ``id``; every other column becomes a
string attribute named after its header. Empty cells are left out of the item, so a missing
value stays visible to the data-quality job instead of being stored as "".
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("csv-ingest")
HASH_KEY = "id"

# Exit codes: Batch retry strategies match on them (platform.yaml: code 1 is not retried).
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # the CSV itself is wrong: a retry cannot help
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_AWS = 3  # an AWS call failed (missing bucket or table, access denied, throttling)

MAX_PROBLEMS_SHOWN = 10


class BadInputError(Exception):
    """The CSV cannot be loaded as it is."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key; both must be non-empty."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected s3://BUCKET/KEY, got {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"expected s3://BUCKET/KEY, got {uri!r}")
    return bucket, key


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Turn CSV text into DynamoDB items.

    Returns the header, the items (one per distinct id, the last row wins) and the ids that
    occurred more than once. Raises BadInputError listing every row that cannot be stored.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    if not header or not header[0]:
        raise BadInputError("the CSV has no header row (the first column's header must name the key)")
    attributes = header[1:]
    if "" in attributes or len(set(attributes)) != len(attributes) or HASH_KEY in attributes:
        raise BadInputError(f"header {header}: names must be non-empty and distinct, and only the first may be 'id'")

    items: dict[str, dict[str, str]] = {}
    duplicates: list[str] = []
    problems: list[str] = []
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue  # blank line
        line = reader.line_num
        if len(cells) > len(header):
            problems.append(f"line {line}: {len(cells)} fields but the header has {len(header)}")
            continue
        if not cells[0]:
            problems.append(f"line {line}: empty {header[0]!r} (the hash key)")
            continue
        item = {HASH_KEY: cells[0]}
        item.update((name, value) for name, value in zip(attributes, cells[1:], strict=False) if value)
        if cells[0] in items:
            duplicates.append(cells[0])
        items[cells[0]] = item
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise BadInputError(f"{len(problems)} row(s) cannot be stored: {shown}{more}")
    return header, list(items.values()), duplicates


def read_object(s3: Any, bucket: str, key: str) -> str:
    """Return the object's text (UTF-8, a leading byte-order mark is dropped)."""
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    LOG.info("read %d bytes from s3://%s/%s", len(body), bucket, key)
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadInputError(f"s3://{bucket}/{key} is not UTF-8 text: {error}") from error


def write_items(table: Any, items: Sequence[dict[str, str]]) -> int:
    """Write the items in batches of 25 (the batch writer retries unprocessed items)."""
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    return len(items)


def ingest(source: str, table_name: str) -> int:
    """Load one CSV object into one table; returns the number of items written."""
    bucket, key = parse_s3_uri(source)
    # boto3 >= 1.28 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or an emulator.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    s3 = boto3.client("s3", region_name=region)
    table = boto3.resource("dynamodb", region_name=region).Table(table_name)

    LOG.info("reading %s", source)
    text = read_object(s3, bucket, key)
    header, items, duplicates = parse_csv(text)
    LOG.info("parsed %d rows, key column %r, attributes %s", len(items), header[0], ", ".join(header[1:]) or "none")
    if duplicates:
        LOG.warning("%d duplicate key(s), the last row wins: %s", len(duplicates), ", ".join(sorted(set(duplicates))))
    LOG.info("writing %d items to DynamoDB table %s", len(items), table_name)
    written = write_items(table, items)
    LOG.info("done: %d items written to %s", written, table_name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m csv_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="s3://BUCKET/KEY", help="the CSV object to load")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="DynamoDB table (default: $TABLE_NAME)")
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("no table: set TABLE_NAME or pass --table")
    try:
        parse_s3_uri(args.source)
    except ValueError as error:
        parser.error(str(error))

    try:
        ingest(args.source, args.table)
    except BadInputError as error:
        LOG.error("bad input: %s", error)
        return EXIT_BAD_INPUT
    except (BotoCoreError, ClientError) as error:
        LOG.error("AWS call failed: %s", error)
        return EXIT_AWS
    return EXIT_OK

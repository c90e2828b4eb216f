"""Scan a DynamoDB table and write a JSON summary of it to S3.

The summary holds the row count, how many rows fill each attribute, min/max/sum/mean of every
attribute whose values are all numbers, and the row count per value of a grouping attribute.

Run as an array job of N children, each child summarises one of N segments of the table
(DynamoDB's parallel scan): its own, the index AWS Batch gives it in
``AWS_BATCH_JOB_ARRAY_INDEX``, written to its own key (``...-part-<index>-of-<N>.json``).
N is ``--partitions``, else ``$REPORT_PARTITIONS``, else the array's size, which AWS Batch
gives each child in ``AWS_BATCH_JOB_ARRAY_SIZE``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("report")
HASH_KEY = "id"

EXIT_OK = 0
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_AWS = 3  # an AWS call failed (missing table or bucket, access denied, throttling)
ARRAY_INDEX = "AWS_BATCH_JOB_ARRAY_INDEX"  # set by AWS Batch in each child of an array job
ARRAY_SIZE = "AWS_BATCH_JOB_ARRAY_SIZE"  # likewise: how many children the array job has


@dataclass(frozen=True)
class Partition:
    """The segment of the table this run summarises: ``index`` of ``of`` (0 of 1: the whole table)."""

    index: int
    of: int

    @property
    def whole(self) -> bool:
        return self.of == 1

    def suffix(self) -> str:
        """What this partition adds to the object key: nothing for the whole table."""
        return "" if self.whole else f"-part-{self.index}-of-{self.of}"


def partition_of(partitions: int, array_index: str | None) -> Partition:
    """The partition of an array job's child (its index from AWS Batch) among ``partitions``."""
    if partitions < 1:
        raise ValueError(f"--partitions must be at least 1, got {partitions}")
    if array_index is None:
        if partitions > 1:
            raise ValueError(
                f"--partitions {partitions} splits the table among the children of an array job, "
                f"but {ARRAY_INDEX} is not set: submit it as an array job of {partitions}"
            )
        return Partition(0, 1)
    if not array_index.strip().isdigit():
        raise ValueError(f"{ARRAY_INDEX} must be a number, got {array_index!r}")
    index = int(array_index)
    if index >= partitions:
        raise ValueError(
            f"{ARRAY_INDEX} is {index}, but --partitions is {partitions}: "
            "pass the array size as --partitions (or REPORT_PARTITIONS)"
        )
    return Partition(index, partitions)


def parse_output(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix/`` (or ``s3://bucket/key.json``) into bucket and key or prefix."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected s3://BUCKET/PREFIX/, got {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"expected s3://BUCKET/PREFIX/, got {uri!r}")
    return bucket, key


def object_key(prefix_or_key: str, now: datetime, partition: Partition | None = None) -> str:
    """A prefix (empty or ending in '/') gets a timestamped file name; anything else is the key itself.

    A partition's key carries its suffix before the extension (``report-...-part-2-of-4.json``).
    """
    suffix = partition.suffix() if partition is not None else ""
    if prefix_or_key and not prefix_or_key.endswith("/"):
        stem, dot, extension = prefix_or_key.rpartition(".")
        return f"{stem}{suffix}.{extension}" if dot and "/" not in extension else f"{prefix_or_key}{suffix}"
    return f"{prefix_or_key}report-{now:%Y%m%dT%H%M%SZ}{suffix}.json"


def scan(table: Any, partition: Partition | None = None) -> Iterator[dict[str, Any]]:
    """Every item of the table (or of the partition's segment), following scan pagination."""
    kwargs: dict[str, Any] = {}
    if partition is not None and not partition.whole:
        kwargs.update(Segment=partition.index, TotalSegments=partition.of)
    while True:
        page = table.scan(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def as_number(value: Any) -> Decimal | None:
    """The value as a finite Decimal (DynamoDB numbers and numeric strings), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def summarise(items: Iterable[dict[str, Any]], table_name: str, group_by: str, now: datetime) -> dict[str, Any]:
    """The summary object written to S3 (plain JSON types, keys sorted)."""
    rows = 0
    filled: Counter[str] = Counter()
    numbers: dict[str, list[Decimal]] = {}
    not_numeric: set[str] = set()
    groups: Counter[str] = Counter()
    for item in items:
        rows += 1
        for name, value in item.items():
            filled[name] += 1
            if name == HASH_KEY or name in not_numeric:
                continue
            number = as_number(value)
            if number is None:
                not_numeric.add(name)
                numbers.pop(name, None)
            else:
                numbers.setdefault(name, []).append(number)
        if group_by in item:
            groups[str(item[group_by])] += 1

    numeric = {
        name: {
            "min": float(min(values)),
            "max": float(max(values)),
            "sum": float(sum(values)),
            "mean": round(float(sum(values) / len(values)), 4),
        }
        for name, values in sorted(numbers.items())
    }
    return {
        "table": table_name,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rows": rows,
        "filled": dict(sorted(filled.items())),
        "numeric": numeric,
        "group_by": group_by,
        "groups": dict(sorted(groups.items())),
    }


def run(table_name: str, output: str, group_by: str, now: datetime, partition: Partition | None = None) -> str:
    """Scan, summarise and upload; returns the s3:// URI written."""
    partition = partition or Partition(0, 1)
    bucket, prefix_or_key = parse_output(output)
    # boto3 >= 1.28 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or an emulator.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    table = boto3.resource("dynamodb", region_name=region).Table(table_name)
    s3 = boto3.client("s3", region_name=region)

    if partition.whole:
        LOG.info("scanning DynamoDB table %s", table_name)
    else:
        LOG.info("scanning DynamoDB table %s, partition %d of %d", table_name, partition.index, partition.of)
    summary = summarise(scan(table, partition), table_name, group_by, now)
    if not partition.whole:
        summary["partition"] = {"index": partition.index, "of": partition.of}
    LOG.info("scanned %d rows; numeric attributes: %s", summary["rows"], ", ".join(summary["numeric"]) or "none")
    if summary["groups"]:
        counts = ", ".join(f"{name}={count}" for name, count in summary["groups"].items())
        LOG.info("rows per %s: %s", group_by, counts)
    else:
        LOG.info("no row has the attribute %r: no groups", group_by)

    key = object_key(prefix_or_key, now, partition)
    body = json.dumps(summary, indent=2, sort_keys=True).encode() + b"\n"
    LOG.info("writing s3://%s/%s (%d bytes)", bucket, key, len(body))
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    LOG.info("done: summary of %d rows at s3://%s/%s", summary["rows"], bucket, key)
    return f"s3://{bucket}/{key}"


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="DynamoDB table to summarise")
    parser.add_argument(
        "--output",
        required=True,
        metavar="s3://BUCKET/PREFIX/",
        help="where to write: a prefix (ending in /) gets report-<UTC timestamp>.json, anything else is the key",
    )
    parser.add_argument(
        "--group-by",
        default=os.environ.get("REPORT_GROUP_BY", "category"),
        help="attribute to count rows by (default: $REPORT_GROUP_BY or 'category')",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=os.environ.get("REPORT_PARTITIONS") or os.environ.get(ARRAY_SIZE) or "1",
        metavar="N",
        help=f"as a child of an array job of N, summarise its segment ${ARRAY_INDEX} of N "
        f"(default: $REPORT_PARTITIONS, else ${ARRAY_SIZE}, else 1)",
    )
    args = parser.parse_args(argv)
    try:
        parse_output(args.output)
        partition = partition_of(args.partitions, os.environ.get(ARRAY_INDEX))
    except ValueError as error:
        parser.error(str(error))

    try:
        run(args.table, args.output, args.group_by, now or datetime.now(UTC), partition)
    except (BotoCoreError, ClientError) as error:
        LOG.error("AWS call failed: %s", error)
        return EXIT_AWS
    return EXIT_OK

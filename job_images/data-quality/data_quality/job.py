"""Check every row of a DynamoDB table, publish CloudWatch metrics, exit 1 when a check fails.

Checks: the table has at least --min-rows rows; every row fills the required attributes; no
two ids differ only in case or surrounding spaces (DynamoDB keys are exact, so "P-1" and "p-1 "
are two items: a duplicate for every reader downstream); numeric attributes hold numbers >= 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("data-quality")
HASH_KEY = "id"

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_AWS = 3  # an AWS call failed (missing table, access denied, throttling)

DEFAULT_NAMESPACE = "Batchplane/DataQuality"
DEFAULT_REQUIRED = "id,name,price"
DEFAULT_NUMERIC = "price"
MAX_VIOLATIONS_SHOWN = 10


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome; each violation is a short human-readable line."""

    name: str
    violations: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.violations


def scan(table: Any) -> Iterator[dict[str, Any]]:
    """Every item of the table, following scan pagination."""
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def check_min_rows(items: Sequence[dict[str, Any]], min_rows: int) -> CheckResult:
    found = len(items)
    violations = (f"{found} row(s), expected at least {min_rows}",) if found < min_rows else ()
    return CheckResult("min_rows", violations)


def check_required(items: Sequence[dict[str, Any]], fields: Sequence[str]) -> CheckResult:
    violations = []
    for item in items:
        missing = [field for field in fields if str(item.get(field, "")).strip() == ""]
        if missing:
            violations.append(f"{item.get(HASH_KEY, '?')}: missing {', '.join(missing)}")
    return CheckResult("required_fields", tuple(sorted(violations)))


def check_duplicate_ids(items: Sequence[dict[str, Any]]) -> CheckResult:
    by_normal_form: defaultdict[str, list[str]] = defaultdict(list)
    for item in items:
        key = str(item.get(HASH_KEY, ""))
        by_normal_form[key.strip().casefold()].append(key)
    violations = [
        "same id: " + ", ".join(repr(key) for key in sorted(keys)) for keys in by_normal_form.values() if len(keys) > 1
    ]
    return CheckResult("duplicate_ids", tuple(sorted(violations)))


def check_numeric(items: Sequence[dict[str, Any]], fields: Sequence[str]) -> CheckResult:
    violations = []
    for item in items:
        for field in fields:
            if field not in item:
                continue  # absence is the required-fields check's concern
            try:
                number = Decimal(str(item[field]).strip())
                valid = not isinstance(item[field], bool) and number.is_finite() and number >= 0
            except InvalidOperation:
                valid = False
            if not valid:
                violations.append(f"{item.get(HASH_KEY, '?')}: {field}={item[field]!r} is not a number >= 0")
    return CheckResult("numeric_fields", tuple(sorted(violations)))


def run_checks(
    items: Sequence[dict[str, Any]], min_rows: int, required: Sequence[str], numeric: Sequence[str]
) -> list[CheckResult]:
    return [
        check_min_rows(items, min_rows),
        check_required(items, required),
        check_duplicate_ids(items),
        check_numeric(items, numeric),
    ]


def metric_data(table_name: str, rows: int, results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """RowsChecked and FailedChecks per table, Violations per table and check."""
    table = {"Name": "Table", "Value": table_name}
    data: list[dict[str, Any]] = [
        {"MetricName": "RowsChecked", "Dimensions": [table], "Value": rows, "Unit": "Count"},
        {
            "MetricName": "FailedChecks",
            "Dimensions": [table],
            "Value": sum(not result.passed for result in results),
            "Unit": "Count",
        },
    ]
    data.extend(
        {
            "MetricName": "Violations",
            "Dimensions": [table, {"Name": "Check", "Value": result.name}],
            "Value": len(result.violations),
            "Unit": "Count",
        }
        for result in results
    )
    return data


def run(table_name: str, min_rows: int, required: Sequence[str], numeric: Sequence[str], namespace: str) -> bool:
    """Scan, check, publish; returns whether every check passed."""
    # boto3 >= 1.28 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or an emulator.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    table = boto3.resource("dynamodb", region_name=region).Table(table_name)
    cloudwatch = boto3.client("cloudwatch", region_name=region)

    LOG.info("scanning DynamoDB table %s", table_name)
    items = list(scan(table))
    LOG.info("scanned %d rows", len(items))
    results = run_checks(items, min_rows, required, numeric)
    for result in results:
        if result.passed:
            LOG.info("check %s: passed", result.name)
            continue
        LOG.error("check %s: FAILED, %d violation(s)", result.name, len(result.violations))
        for violation in result.violations[:MAX_VIOLATIONS_SHOWN]:
            LOG.error("  %s", violation)
        if len(result.violations) > MAX_VIOLATIONS_SHOWN:
            LOG.error("  ... and %d more", len(result.violations) - MAX_VIOLATIONS_SHOWN)

    data = metric_data(table_name, len(items), results)
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
    LOG.info("published %d metrics to CloudWatch namespace %s", len(data), namespace)
    failed = [result.name for result in results if not result.passed]
    if failed:
        LOG.error("result: %d of %d checks failed (%s)", len(failed), len(results), ", ".join(failed))
    else:
        LOG.info("result: all %d checks passed on %d rows", len(results), len(items))
    return not failed


def field_list(text: str) -> list[str]:
    return [field.strip() for field in text.split(",") if field.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m data_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="DynamoDB table to check")
    parser.add_argument(
        "--required",
        type=field_list,
        default=field_list(os.environ.get("REQUIRED_FIELDS", DEFAULT_REQUIRED)),
        help=f"comma-separated attributes every row must fill (default: $REQUIRED_FIELDS or {DEFAULT_REQUIRED})",
    )
    parser.add_argument(
        "--numeric",
        type=field_list,
        default=field_list(os.environ.get("NUMERIC_FIELDS", DEFAULT_NUMERIC)),
        help=f"comma-separated attributes that must be numbers >= 0 (default: $NUMERIC_FIELDS or {DEFAULT_NUMERIC})",
    )
    parser.add_argument("--min-rows", type=int, default=1, help="fewest rows the table may have (default: 1)")
    parser.add_argument(
        "--namespace",
        default=os.environ.get("METRIC_NAMESPACE", DEFAULT_NAMESPACE),
        help=f"CloudWatch namespace (default: $METRIC_NAMESPACE or {DEFAULT_NAMESPACE})",
    )
    args = parser.parse_args(argv)

    try:
        passed = run(args.table, args.min_rows, args.required, args.numeric, args.namespace)
    except (BotoCoreError, ClientError) as error:
        LOG.error("AWS call failed: %s", error)
        return EXIT_AWS
    return EXIT_OK if passed else EXIT_CHECKS_FAILED

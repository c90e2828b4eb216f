"""The demo's data on the local AWS: the jobs' buckets, the sample CSV, the products table.

    python scripts/demo_data.py seed ENV    # buckets + sample upload + table (idempotent)
    python scripts/demo_data.py rows ENV    # print the table's items
    python scripts/demo_data.py reports ENV # list what the report wrote (one object per array child)

Names come from the example spec: csv-ingest's `input` parameter and TABLE_NAME, and every
bucket a job's parameters name (the report's output bucket among them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from batchplane.local.accounts import emulator_client
from batchplane.local.emulator import require_emulator
from batchplane.spec import find_spec, load_spec

SAMPLE = Path("job_images/csv-ingest/sample/sample.csv")


def _buckets(env: str) -> set[str]:
    """Every bucket an `s3://` parameter default of a job names in ``env``."""
    spec = load_spec(find_spec(Path.cwd()))
    values = [value for job in spec.env(env).jobs.values() for value in job.parameters.values()]
    return {value.removeprefix("s3://").split("/", 1)[0] for value in values if value.startswith("s3://")}


def _clients(env: str) -> tuple[Any, Any, str, str, str]:
    spec = load_spec(find_spec(Path.cwd()))
    emulator = require_emulator(spec.root)
    account = spec.platform.environments[env].account_id
    job = spec.env(env).jobs["csv-ingest"]
    bucket, _, key = str((job.parameters or {})["input"]).removeprefix("s3://").partition("/")
    table = (job.environment or {})["TABLE_NAME"]
    region = spec.platform.region
    s3 = emulator_client(emulator.endpoint, account, "s3", region)
    dynamodb = emulator_client(emulator.endpoint, account, "dynamodb", region)
    return s3, dynamodb, bucket, key, table


def seed(env: str) -> None:
    s3, dynamodb, bucket, key, table = _clients(env)
    region = s3.meta.region_name
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for name in sorted((_buckets(env) | {bucket}) - existing):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.upload_file(str(SAMPLE), bucket, key)
    if table not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    print(f"uploaded {SAMPLE} to s3://{bucket}/{key}; table {table} ready")


def rows(env: str) -> None:
    _, dynamodb, _, _, table = _clients(env)
    items = dynamodb.scan(TableName=table)["Items"]
    print(f"{len(items)} item(s) in DynamoDB table {table}:")
    for item in sorted(items, key=lambda i: i["id"]["S"]):
        print("  " + ", ".join(f"{k}={next(iter(v.values()))}" for k, v in sorted(item.items())))


def reports(env: str) -> None:
    s3, _, _, _, _ = _clients(env)
    spec = load_spec(find_spec(Path.cwd()))
    output = spec.env(env).jobs["nightly-report"].parameters["output"]
    bucket, _, prefix = output.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    print(f"{len(keys)} report object(s) in s3://{bucket}/{prefix}:")
    for key in sorted(keys):
        print(f"  {key}")


if __name__ == "__main__":
    commands = {"seed": seed, "rows": rows, "reports": reports}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2])

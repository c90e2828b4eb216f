"""The demo's data on the local AWS: the input bucket with the sample CSV, the products table.

    python scripts/demo_data.py seed ENV    # bucket + sample upload + table (idempotent)
    python scripts/demo_data.py rows ENV    # print the table's items

Names come from the example spec's csv-ingest job: its `input` parameter and TABLE_NAME.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from batchplane.local.accounts import emulator_client
from batchplane.local.emulator import require_emulator
from batchplane.spec import find_spec, load_spec

SAMPLE = Path("job_images/csv-ingest/sample/sample.csv")


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
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
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


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"seed", "rows"}:
        sys.exit(__doc__)
    {"seed": seed, "rows": rows}[sys.argv[1]](sys.argv[2])

"""The accounts of the local AWS: what AWS has in every account, and how batchplane acts in one.

The provider, and every boto3 client here, assumes the role ``batchplane-local``
in an environment's account: moto's STS switches accounts that way, so
``allowed_account_ids`` and every ARN that embeds an account id hold locally
exactly as they do on AWS. Failing to reach the emulator, or the emulator
refusing a request, is :class:`~batchplane.errors.LocalAWSError` (exit 5),
naming the endpoint and the cause.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from batchplane import layout
from batchplane.errors import LocalAWSError
from batchplane.local.emulator import EmulatorState
from batchplane.local.processes import remove, write_text
from batchplane.state import read_json

LOCAL_ROLE_NAME = "batchplane-local"
LOCAL_JOBS_USER = "batchplane-local-jobs"
LOCAL_SECRET = "batchplane-local"  # the emulator checks no signature: any secret will do
ACCOUNTS_FILE = "accounts.json"
BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
_BATCH_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "batch.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def local_role_arn(account_id: str) -> str:
    """The role the provider assumes to act in ``account_id`` on the emulator."""
    return f"arn:aws:iam::{account_id}:role/{LOCAL_ROLE_NAME}"


def _cause(exc: BaseException) -> str:
    """The operating system's words for a failed connection (``Connection refused``), else the error's own."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(exc)


@contextmanager
def asking(endpoint: str) -> Iterator[None]:
    """Turn boto3's failures to reach or use the emulator at ``endpoint`` into :class:`LocalAWSError`."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", "")
        raise LocalAWSError(endpoint, f"{exc.operation_name} refused: {code}: {message}") from None
    except BotoConnectionError as exc:
        raise LocalAWSError(
            endpoint, f"cannot connect ({_cause(exc)}): is it running? (`batchplane local status`)"
        ) from None
    except BotoCoreError as exc:
        raise LocalAWSError(endpoint, str(exc)) from None


def _client(service: str, endpoint: str, region: str, **credentials: str) -> Any:
    import boto3
    from botocore.config import Config

    # Few retries: the emulator is on this machine, and one that refuses a connection is not running.
    config = Config(connect_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=config, **credentials)


def emulator_client(endpoint: str, account_id: str, service: str, region: str) -> Any:
    """A boto3 client acting in ``account_id`` on the emulator (via STS, like the provider)."""
    sts = _client("sts", endpoint, region, aws_access_key_id=LOCAL_SECRET, aws_secret_access_key=LOCAL_SECRET)
    with asking(endpoint):
        credentials = sts.assume_role(RoleArn=local_role_arn(account_id), RoleSessionName="batchplane")["Credentials"]
    return _client(
        service,
        endpoint,
        region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@dataclass(frozen=True)
class S3Backend:
    """The S3 state location of a root (bucket, key, region)."""

    bucket: str
    key: str
    region: str


def ensure_state_bucket(endpoint: str, s3: S3Backend) -> None:
    """The S3 backend's bucket in the emulator (versioned, as a state bucket should be)."""
    from botocore.exceptions import ClientError

    client = _client("s3", endpoint, s3.region, aws_access_key_id=LOCAL_SECRET, aws_secret_access_key=LOCAL_SECRET)
    with asking(endpoint):
        try:
            client.head_bucket(Bucket=s3.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            client.create_bucket(Bucket=s3.bucket, CreateBucketConfiguration={"LocationConstraint": s3.region})
            client.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})


def bootstrap_account(endpoint: str, account_id: str, region: str) -> str:
    """Create what AWS has in every account but the emulator lacks; returns the jobs' access key id.

    AWS creates the Batch service-linked role on first use; the emulator
    needs it to exist (its own create_service_linked_role misspells the name).

    On AWS a job container gets its job role's credentials from the ECS
    agent; the emulator hands it none. Local job definitions therefore carry
    the access key of an IAM user in the environment's account: the emulator
    places a call in the account that owns the key (it checks no signature),
    so a job reads and writes the same account the environment lives in.
    The key is the same for as long as the emulator runs.
    """
    iam = emulator_client(endpoint, account_id, "iam", region)
    with asking(endpoint):
        try:
            iam.get_role(RoleName=BATCH_SERVICE_LINKED_ROLE)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(
                Path="/aws-service-role/batch.amazonaws.com/",
                RoleName=BATCH_SERVICE_LINKED_ROLE,
                AssumeRolePolicyDocument=json.dumps(_BATCH_TRUST),
            )
        try:
            keys = iam.list_access_keys(UserName=LOCAL_JOBS_USER)["AccessKeyMetadata"]
        except iam.exceptions.NoSuchEntityException:
            iam.create_user(UserName=LOCAL_JOBS_USER)
            keys = []
        if keys:
            return str(sorted(k["AccessKeyId"] for k in keys)[0])
        return str(iam.create_access_key(UserName=LOCAL_JOBS_USER)["AccessKey"]["AccessKeyId"])


class AccountKeys(BaseModel):
    """``accounts.json``: the access key of each local account, for one emulator instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emulator: str
    keys: dict[str, str]


def accounts_path(repo: Path) -> Path:
    """``.batchplane/local/accounts.json``."""
    return layout.local_dir(repo) / ACCOUNTS_FILE


def account_key(repo: Path, emulator: EmulatorState, account_id: str, region: str) -> str:
    """:func:`bootstrap_account`, once per account for as long as this emulator runs.

    The access key is remembered in ``.batchplane/local/accounts.json`` with
    the emulator's port and PID: every ``plan``/``apply``/``up`` needs it to
    write the local job definitions, and asking the emulator costs two boto3
    clients (~0.5 s). A restarted emulator is a new instance and is asked again.
    """
    path = accounts_path(repo)
    instance = f"{emulator.port}:{emulator.pid}"
    known = read_json(path, AccountKeys)
    keys = dict(known.keys) if known is not None and known.emulator == instance else {}
    if account_id not in keys:
        keys[account_id] = bootstrap_account(emulator.endpoint, account_id, region)
        write_text(path, json.dumps({"emulator": instance, "keys": keys}, sort_keys=True) + "\n")
    return str(keys[account_id])


def forget_accounts(repo: Path) -> None:
    """Drop the remembered keys: the emulator that knew them is gone."""
    remove(accounts_path(repo))

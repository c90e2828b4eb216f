"""AWS clients for one environment, and AWS errors as batchplane errors.

Every workflow that talks to an environment's AWS (``jobs``, ``pipelines``)
gets its clients here: the local AWS's, signed as the environment's account,
when a ``--local`` emulator is given, else boto3's default chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchplane.errors import ToolError
from batchplane.local.accounts import emulator_client
from batchplane.local.emulator import EmulatorState
from batchplane.spec.loader import Spec


def client(spec: Spec, environment: str, emulator: EmulatorState | None, service: str) -> Any:
    """A ``service`` client for ``environment``: the emulator's (as its account) or AWS's."""
    region = spec.platform.region
    if emulator is not None:
        account = spec.platform.environments[environment].account_id
        return emulator_client(emulator.endpoint, account, service, region)
    import boto3  # late: boto3 costs ~0.3 s to import

    return boto3.client(service, region_name=region)


def call(action: str, request: Callable[[], Any]) -> Any:
    """``request()``; an AWS error is a ToolError (exit 5) saying what was being done."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return request()
    except (BotoCoreError, ClientError) as exc:
        raise ToolError("aws", [], f"{action}: {exc}") from None

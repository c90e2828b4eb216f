"""Step Functions executions that run: their Batch steps submit real jobs and wait for them.

moto runs a state machine's states only with its execution switch on
(``{"stepfunctions": {"execute_state_machine": true}}``, what ``POST
/moto-api/config`` sets); :func:`install` turns it on before the server
starts, so that state machines created by Terraform and their executions live
in the executing backend from the first request.

Its Batch service integration (``arn:aws:states:::batch:submitJob.sync``)
submits the job and polls ``DescribeJobs`` until SUCCEEDED or FAILED, but with
a client of moto's default account: a state machine of any other account
(every environment of a platform has its own) would submit to queues that do
not exist there. :class:`BatchInAccount` makes those calls in the account the
task runs in (the execution's, or the one the resource ARN names), through
moto's ``x-moto-account-id`` request header.

moto also leaves a task's parameters and results in the case the state
machine wrote them (``JobName``), where botocore wants ``jobName`` and the
integration reads ``JobId``: :class:`BatchInAccount` converts both ways along
botocore's model of the Batch API, as Step Functions does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel
from botocore.session import get_session
from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_batch
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory import (
    state_task_service_for,
)

ACCOUNT_HEADER = "x-moto-account-id"
"""The request header moto takes as the caller's account (before the access key)."""

_acting = threading.local()
_moto_client_for = state_task_service_batch.boto_client_for  # type: ignore[attr-defined]  # moto's own import


@contextmanager
def _in_account(account: str) -> Iterator[None]:
    """Clients created by this thread inside the block act in ``account``."""
    _acting.account = account
    try:
        yield
    finally:
        _acting.account = None


def _add_account_header(account: str) -> Any:
    def add(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account

    return add


def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client for a task's service calls, acting in the account of the running task."""
    client = _moto_client_for(region=region, service=service, state_credentials=state_credentials)
    account = getattr(_acting, "account", None)
    if account:
        client.meta.events.register_first("before-sign", _add_account_header(account))
    return client


@cache
def operation_model(service: str, action: str) -> OperationModel:
    """botocore's model of ``action`` (``submitJob``, ``submit_job`` or ``SubmitJob``) of ``service``."""
    model = get_session().get_service_model(service)
    by_snake_name = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(by_snake_name[xform_name(action)])


class BatchInAccount(StateTaskServiceBatch):
    """moto's Batch integration, with its SubmitJob and DescribeJobs calls made in the task's account."""

    def _normalise_parameters(
        self,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        service = self._get_boto_service_name(boto_service_name)
        shape = operation_model(service, service_action_name or self.resource.api_action).input_shape
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def _normalise_response(
        self,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        service = self._get_boto_service_name(boto_service_name)
        shape = operation_model(service, service_action_name or self.resource.api_action).output_shape
        if shape is not None:
            self._from_boto_response(response, shape)

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        with _in_account(resource_runtime_part.account):
            super()._eval_service_task(env, resource_runtime_part, normalised_parameters, state_credentials)

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Any:
        with _in_account(resource_runtime_part.account):  # the poller's client is created here
            return super()._build_sync_resolver(env, resource_runtime_part, normalised_parameters, state_credentials)


def service_for(service_name: str) -> Any:
    """moto's task implementation of a service integration, with :class:`BatchInAccount` for Batch."""
    if service_name == "batch":
        return BatchInAccount()  # type: ignore[no-untyped-call]  # moto's constructor is untyped
    return state_task_service_for(service_name=service_name)


def install() -> None:
    """Turn moto's execution switch on and make Batch steps act in their own account."""
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    # Both names are moto's imports into these modules: replacing them there is what takes effect.
    state_task_service_batch.boto_client_for = client_for  # type: ignore[attr-defined]
    state_task_factory.state_task_service_for = service_for  # type: ignore[attr-defined]

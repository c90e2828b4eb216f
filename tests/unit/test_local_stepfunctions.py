"""The local AWS's Step Functions extension: Batch steps act in the task's account, in botocore's casing."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from batchplane.local import server, stepfunctions


class _Raw:
    """The body of a canned HTTP answer, as botocore reads it."""

    def stream(self, **_: Any) -> Any:
        yield b'{"jobs": []}'


def _sent_headers(client: Any) -> dict[str, str]:
    """The headers of a DescribeJobs request ``client`` would send (answered here, never sent)."""
    seen: dict[str, str] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.update(
            {
                key.lower(): value.decode() if isinstance(value, bytes) else value
                for key, value in request.headers.items()
            }
        )
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send", answer)
    client.describe_jobs(jobs=["j-1"])
    return seen


def test_a_task_client_acts_in_the_account_of_the_running_task() -> None:
    with stepfunctions._in_account("222222222222"):
        inside = stepfunctions.client_for(region="eu-west-1", service="batch")
    outside = stepfunctions.client_for(region="eu-west-1", service="batch")
    assert _sent_headers(inside)[stepfunctions.ACCOUNT_HEADER] == "222222222222"
    assert stepfunctions.ACCOUNT_HEADER not in _sent_headers(outside)


def test_batch_tasks_get_the_account_aware_integration_and_others_moto_s_own() -> None:
    assert isinstance(stepfunctions.service_for("batch"), stepfunctions.BatchInAccount)
    assert not isinstance(stepfunctions.service_for("sqs"), stepfunctions.BatchInAccount)


def test_an_action_is_found_in_botocore_s_model_whatever_its_casing() -> None:
    for action in ("submitJob", "submit_job", "SubmitJob"):
        model = stepfunctions.operation_model("batch", action)
        assert model.name == "SubmitJob"
        assert "jobName" in model.input_shape.members
    assert "jobs" in stepfunctions.operation_model("batch", "describe_jobs").output_shape.members


def test_the_server_installs_the_extension() -> None:
    assert "batchplane.local.stepfunctions" in server.EXTENSIONS
    assert "batchplane.local.batch_fidelity" in server.EXTENSIONS  # array parents FAILED when a child failed

"""Local AWS extension: the Step Functions actions the AWS provider calls that moto's server lacks.

The provider validates every ``aws_sfn_state_machine`` definition with
ValidateStateMachineDefinition while planning, and lists the machine's versions
with ListStateMachineVersions when it reads one; without them no root with a
pipeline plans or applies locally (the provider retries the server's error for
minutes). Validation comes from the ASL static analysers moto ships for its
state-machine executor: ``OK``, or ``FAIL`` with one ``SCHEMA_VALIDATION_FAILED``
diagnostic, as AWS shapes it. Versions are the ones moto keeps for a machine
(published with ``publish``; batchplane publishes none).
"""

from __future__ import annotations

import json


def validate(definition: str, machine_type: str = "STANDARD") -> dict[str, object]:
    """ValidateStateMachineDefinition's response for one definition."""
    from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

    analyser = ExpressStaticAnalyser() if machine_type == "EXPRESS" else StaticAnalyser()
    try:
        analyser.analyse(definition)
    except Exception as exc:  # the analysers raise parser errors and plain ValueErrors alike
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": f"{exc}"}
        return {"result": "FAIL", "diagnostics": [diagnostic], "truncated": False}
    return {"result": "OK", "diagnostics": [], "truncated": False}


def install() -> None:
    """Give moto's Step Functions responses the actions (once per process)."""
    from moto.stepfunctions.responses import StepFunctionResponse, get_backend

    def validate_state_machine_definition(self: StepFunctionResponse) -> str:
        return json.dumps(validate(str(self._get_param("definition")), str(self._get_param("type") or "STANDARD")))

    def list_state_machine_versions(self: StepFunctionResponse) -> str:
        machine = get_backend(self.current_account, self.region).describe_state_machine(
            str(self._get_param("stateMachineArn"))
        )
        versions = getattr(machine, "versions", {})
        listed = [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
            for _, v in sorted(versions.items(), reverse=True)
        ]
        return json.dumps({"stateMachineVersions": listed}, default=str)

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]

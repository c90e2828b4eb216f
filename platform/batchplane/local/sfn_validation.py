"""Local AWS extension: Step Functions' ValidateStateMachineDefinition, which moto's server lacks.

The AWS provider validates every ``aws_sfn_state_machine`` definition with this
action while planning, so without it no root with a pipeline plans locally (the
provider retries the server's error for minutes). The answer comes from the ASL
static analysers moto ships for its state-machine executor: ``OK``, or ``FAIL``
with one ``SCHEMA_VALIDATION_FAILED`` diagnostic, as AWS shapes it.
"""

from __future__ import annotations

import json

ACTION = "validate_state_machine_definition"


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
    """Give moto's Step Functions responses the action (once per process)."""
    from moto.stepfunctions.responses import StepFunctionResponse

    def action(self: StepFunctionResponse) -> str:
        return json.dumps(validate(str(self._get_param("definition")), str(self._get_param("type") or "STANDARD")))

    setattr(StepFunctionResponse, ACTION, action)

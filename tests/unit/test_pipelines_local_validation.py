"""The local AWS answers ValidateStateMachineDefinition (the AWS provider calls it on every plan)."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from batchplane.local import sfn_validation
from batchplane.render.pipelines import definition
from batchplane.spec import load_spec
from tests.conftest import EXAMPLE_SPEC


@mock_aws
def test_the_rendered_definition_validates_and_a_broken_one_does_not() -> None:
    sfn_validation.install()
    client = boto3.client("stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    example = load_spec(EXAMPLE_SPEC)
    good = json.dumps(definition(example.env("dev"), "dev", "nightly"))
    answer = client.validate_state_machine_definition(definition=good, type="STANDARD")
    assert answer["result"] == "OK"
    assert answer["diagnostics"] == []
    broken = json.dumps({"StartAt": "a", "States": {"a": {"Type": "Task", "Next": "nowhere"}}})
    answer = client.validate_state_machine_definition(definition=broken, type="STANDARD")
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"


@mock_aws
def test_the_versions_of_a_state_machine_are_listed() -> None:
    sfn_validation.install()
    client = boto3.client("stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    document = json.dumps({"StartAt": "a", "States": {"a": {"Type": "Pass", "End": True}}})
    role = "arn:aws:iam::123456789012:role/sfn"
    arn = client.create_state_machine(name="plain", definition=document, roleArn=role)["stateMachineArn"]
    assert client.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []
    published = client.create_state_machine(name="published", definition=document, roleArn=role, publish=True)
    versions = client.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])
    assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [
        published["stateMachineVersionArn"]
    ]

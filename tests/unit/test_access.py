"""Access verbs expand to concrete, least-privilege IAM statements."""

from __future__ import annotations

import pytest

from batchplane.spec.access import ACCESS_ACTIONS, expand_resource, job_statements
from batchplane.spec.jobs import Job


def _job(**fields: object) -> Job:
    base: dict[str, object] = {
        "image": "x",
        "queue": "q",
        "vcpus": 1,
        "memory_mib": 512,
        "command": ["x"],
    }
    return Job.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("service", "resource", "expected"),
    [
        ("s3", "bucket/prefix/*", "arn:aws:s3:::bucket/prefix/*"),
        ("dynamodb", "table/products", "arn:aws:dynamodb:eu-west-1:111111111111:table/products"),
        ("ssm", "/app/db-host", "arn:aws:ssm:eu-west-1:111111111111:parameter/app/db-host"),
        ("secretsmanager", "db-*", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-*"),
        ("sqs", "arn:aws:sqs:eu-west-1:999999999999:q", "arn:aws:sqs:eu-west-1:999999999999:q"),
        ("sqs", "*", "*"),
    ],
)
def test_short_resources_become_arns_of_the_environment(service: str, resource: str, expected: str) -> None:
    assert expand_resource(service, resource, "eu-west-1", "111111111111") == expected


def test_china_regions_use_their_partition() -> None:
    assert expand_resource("s3", "b/*", "cn-north-1", "111111111111") == "arn:aws-cn:s3:::b/*"


def test_every_service_maps_every_verb_to_service_actions() -> None:
    for service, verbs in ACCESS_ACTIONS.items():
        assert set(verbs) == {"read", "write", "list", "delete"}
        for actions in verbs.values():
            assert actions
            assert all(a.startswith(f"{service}:") and "*" not in a for a in actions)


def test_s3_list_is_granted_on_the_bucket_not_on_objects() -> None:
    job = _job(access=[{"service": "s3", "actions": ["read", "list"], "resources": ["data/in/*"]}])
    read, listing = job_statements(job, "eu-west-1", "111111111111")
    assert read.actions == ("s3:GetObject", "s3:GetObjectVersion")
    assert read.resources == ("arn:aws:s3:::data/in/*",)
    assert listing.actions == ("s3:ListBucket",)
    assert listing.resources == ("arn:aws:s3:::data",)


def test_raw_statements_follow_grants_verbatim() -> None:
    job = _job(
        access=[{"service": "dynamodb", "actions": ["write"], "resources": ["table/t"]}],
        statements=[{"effect": "Deny", "actions": ["s3:DeleteObject"], "resources": ["arn:aws:s3:::b/*"]}],
    )
    grant, raw = job_statements(job, "eu-west-1", "111111111111")
    assert grant.sid == "DynamodbWrite0"
    assert raw.as_dict() == {
        "sid": "Statement0",
        "effect": "Deny",
        "actions": ["s3:DeleteObject"],
        "resources": ["arn:aws:s3:::b/*"],
    }

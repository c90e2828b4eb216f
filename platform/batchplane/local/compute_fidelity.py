"""Compute environments' ``updatePolicy`` on the local AWS: stored and described, as on AWS.

moto drops the update policy Terraform sets with UpdateComputeEnvironment (so
``update_policy`` would show a change after every apply). :func:`install` wraps,
in the server process, the UpdateComputeEnvironment handler to keep it on the
compute environment and the DescribeComputeEnvironments handler to return it.
The policy has no effect locally: moto replaces no instances on update.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.batch import responses as batch_responses

ATTRIBUTE = "update_policy"
PARAMETER = "updatePolicy"

_update = batch_responses.BatchResponse.updatecomputeenvironment
_describe = batch_responses.BatchResponse.describecomputeenvironments


def with_update_policies(document: str, policies: Mapping[str, dict[str, Any]]) -> str:
    """A DescribeComputeEnvironments answer with each environment's stored policy (by ARN) added."""
    answer = json.loads(document)
    for environment in answer.get("computeEnvironments", []):
        policy = policies.get(environment.get("computeEnvironmentArn", ""))
        if policy is not None:
            environment[PARAMETER] = policy
    return json.dumps(answer)


def updatecomputeenvironment(response: Any) -> str:
    body: str = _update(response)
    policy = response._get_param(PARAMETER)
    environment = response.batch_backend.get_compute_environment(response._get_param("computeEnvironment"))
    if environment is not None and policy is not None:
        setattr(environment, ATTRIBUTE, policy)
    return body


def describecomputeenvironments(response: Any) -> str:
    body: str = _describe(response)
    environments = response.batch_backend._compute_environments.values()
    policies = {env.arn: getattr(env, ATTRIBUTE) for env in environments if getattr(env, ATTRIBUTE, None) is not None}
    return with_update_policies(body, policies)


def install() -> None:
    """Keep and describe compute environments' update policies."""
    setattr(batch_responses.BatchResponse, "updatecomputeenvironment", updatecomputeenvironment)  # noqa: B010
    setattr(batch_responses.BatchResponse, "describecomputeenvironments", describecomputeenvironments)  # noqa: B010

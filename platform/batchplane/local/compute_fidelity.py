"""Compute environment updates on the local AWS: ``updatePolicy`` and ``computeResources`` kept, as on AWS.

moto drops what UpdateComputeEnvironment changes besides state and service role:
the update policy Terraform sets (so ``update_policy`` would show a change after
every apply) and every ``computeResources`` field (so an in-place change of
``max_vcpus``, instance types or subnets would be planned again after every
apply). :func:`install` wraps, in the server process, the UpdateComputeEnvironment
handler to keep both on the compute environment and the DescribeComputeEnvironments
handler to return the policy. Neither has an effect locally: moto replaces no
instances on update.
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


def updated_resources(current: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """``current`` computeResources with the fields an UpdateComputeEnvironment request sets replaced."""
    return {**current, **(changes or {})}


def updatecomputeenvironment(response: Any) -> str:
    body: str = _update(response)
    policy = response._get_param(PARAMETER)
    environment = response.batch_backend.get_compute_environment(response._get_param("computeEnvironment"))
    if environment is not None and policy is not None:
        setattr(environment, ATTRIBUTE, policy)
    changes = response._get_param("computeResources")
    if environment is not None and changes:
        environment.compute_resources = updated_resources(environment.compute_resources or {}, changes)
    return body


def describecomputeenvironments(response: Any) -> str:
    body: str = _describe(response)
    environments = response.batch_backend._compute_environments.values()
    policies = {env.arn: getattr(env, ATTRIBUTE) for env in environments if getattr(env, ATTRIBUTE, None) is not None}
    return with_update_policies(body, policies)


def install() -> None:
    """Keep what UpdateComputeEnvironment changes: update policies (also described) and compute resources."""
    setattr(batch_responses.BatchResponse, "updatecomputeenvironment", updatecomputeenvironment)  # noqa: B010
    setattr(batch_responses.BatchResponse, "describecomputeenvironments", describecomputeenvironments)  # noqa: B010

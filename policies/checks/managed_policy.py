"""CKV_BP_7: managed policies attached to roles, users and groups are ones batchplane can vouch for.

A managed policy's document is not in the configuration, so its grants cannot
be judged here. An attachment (``aws_iam_role_policy_attachment``,
``aws_iam_policy_attachment``, the user and group attachments, the
``*_policy_attachments_exclusive`` resources, ``aws_iam_role.managed_policy_arns``)
passes only for:

- an AWS managed policy in ``ALLOWED_AWS_MANAGED`` (what batchplane's
  modules attach: the EC2 instance role's ``AmazonEC2ContainerServiceforEC2Role``);
- a reference to an ``aws_iam_policy`` of the configuration (judged by CKV_BP_2).

Everything else fails: AWS managed admin, ``PowerUserAccess``, ``IAMFullAccess``,
``*FullAccess`` and any other AWS managed policy; a literal customer-managed
ARN; an ARN Checkov could not evaluate (built by a function, a variable).
Nothing at all may be attached to a job's role or execution role (as
``modules/job`` names them): their grants are the spec's.
"""

from __future__ import annotations

import re
from typing import Any

from batchplane_iam import PLACEHOLDER, as_list, is_job_role, is_reference, with_placeholders
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

ALLOWED_AWS_MANAGED = frozenset({"service-role/AmazonEC2ContainerServiceforEC2Role"})
# Attribute holding the policy ARN(s), and the one holding the role(s), per resource type.
ATTACHMENTS: dict[str, tuple[str, str | None]] = {
    "aws_iam_role_policy_attachment": ("policy_arn", "role"),
    "aws_iam_policy_attachment": ("policy_arn", "roles"),
    "aws_iam_user_policy_attachment": ("policy_arn", None),
    "aws_iam_group_policy_attachment": ("policy_arn", None),
    "aws_iam_role_policy_attachments_exclusive": ("policy_arns", "role_name"),
    "aws_iam_user_policy_attachments_exclusive": ("policy_arns", None),
    "aws_iam_group_policy_attachments_exclusive": ("policy_arns", None),
    "aws_iam_role": ("managed_policy_arns", "name"),
}
_AWS_MANAGED = re.compile(rf"^arn:(?:aws|aws-cn|aws-us-gov|{PLACEHOLDER}):iam::aws:policy/(?P<name>[\w+=,.@/-]+)$")
_BROAD = re.compile(r"(^|/)(AdministratorAccess[\w-]*|PowerUserAccess|IAMFullAccess|[\w-]*FullAccess[\w-]*)$")
_OWN_POLICY = re.compile(r"^(\$\{)?(module\.[\w-]+(\[[^\]]*\])?\.)*aws_iam_policy\.[\w-]+(\[[^\]]*\])?\.(arn|id)\}?$")


class ManagedPolicyAttachment(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Only managed policies batchplane uses are attached: no admin-like ones, none to job roles",
            id="CKV_BP_7",
            categories=[CheckCategories.IAM],
            supported_resources=list(ATTACHMENTS),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        arn_key, role_key = ATTACHMENTS[self.entity_type]
        arns = [a for a in as_list(conf.get(arn_key)) if a is not None]
        self.evaluated_keys = [arn_key]
        if not arns:
            return CheckResult.PASSED  # a role without managed policies (or a plan that cannot know them yet)
        problems = [p for arn in arns if (p := problem_of_arn(arn))]
        roles = as_list(conf.get(role_key)) if role_key else []
        address = conf.get("__address__") if self.entity_type == "aws_iam_role" else None
        if any(is_job_role(r) for r in roles) or is_job_role(None, address):
            problems.append("a job's role or execution role gets no managed policy (its grants are the spec's)")
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def problem_of_arn(arn: Any) -> str | None:
    """Why a policy ARN may not be attached, or None."""
    if isinstance(arn, str) and _OWN_POLICY.match(arn.strip()):
        return None  # an aws_iam_policy of this configuration, judged by CKV_BP_2
    concrete = with_placeholders(arn) if isinstance(arn, str) and not is_reference(arn) else None
    if concrete is None:
        return f"policy ARN {arn!r} cannot be evaluated"
    match = _AWS_MANAGED.match(concrete)
    if match is None:
        return f"policy ARN {arn!r} is not an AWS managed policy batchplane uses, nor an aws_iam_policy here"
    name = match.group("name")
    if _BROAD.search(name):
        return f"AWS managed policy {name} grants far more than any batchplane role needs"
    if name not in ALLOWED_AWS_MANAGED:
        return f"AWS managed policy {name} is not one batchplane uses ({', '.join(sorted(ALLOWED_AWS_MANAGED))})"
    return None


check = ManagedPolicyAttachment()

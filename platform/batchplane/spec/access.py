"""Least-privilege grants: the ``access`` verbs of a job, as IAM statements.

The table below is the contract documented in the README. Resources may be
full ARNs or short forms relative to the service in the environment's region
and account (``table/products``, ``my-bucket/prefix/*``, ``/app/param``).
"""

from __future__ import annotations

from dataclasses import dataclass

from batchplane.spec.jobs import Job

ACCESS_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "s3": {
        "read": ("s3:GetObject", "s3:GetObjectVersion"),
        "write": ("s3:AbortMultipartUpload", "s3:PutObject"),
        "list": ("s3:ListBucket",),
        "delete": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    },
    "dynamodb": {
        "read": (
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        ),
        "write": (
            "dynamodb:BatchWriteItem",
            "dynamodb:DescribeTable",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ),
        "list": ("dynamodb:DescribeTable", "dynamodb:Query", "dynamodb:Scan"),
        "delete": ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem"),
    },
    "sqs": {
        "read": (
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
        ),
        "write": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"),
        "list": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues"),
        "delete": ("sqs:DeleteMessage",),
    },
    "sns": {
        "read": ("sns:GetTopicAttributes",),
        "write": ("sns:Publish",),
        "list": ("sns:ListSubscriptionsByTopic",),
        "delete": ("sns:Unsubscribe",),
    },
    "secretsmanager": {
        "read": ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"),
        "write": ("secretsmanager:PutSecretValue",),
        "list": ("secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"),
        "delete": ("secretsmanager:DeleteSecret",),
    },
    "ssm": {
        "read": ("ssm:GetParameter", "ssm:GetParameters"),
        "write": ("ssm:PutParameter",),
        "list": ("ssm:GetParametersByPath",),
        "delete": ("ssm:DeleteParameter", "ssm:DeleteParameters"),
    },
    "kms": {
        "read": ("kms:Decrypt", "kms:DescribeKey"),
        "write": ("kms:Encrypt", "kms:GenerateDataKey"),
        "list": ("kms:DescribeKey",),
        "delete": ("kms:ScheduleKeyDeletion",),
    },
    "logs": {
        "read": ("logs:FilterLogEvents", "logs:GetLogEvents"),
        "write": ("logs:CreateLogStream", "logs:PutLogEvents"),
        "list": ("logs:DescribeLogStreams",),
        "delete": ("logs:DeleteLogStream",),
    },
}


@dataclass(frozen=True)
class IamStatement:
    """One statement of a job role's policy, with concrete ARNs."""

    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "sid": self.sid,
            "effect": self.effect,
            "actions": list(self.actions),
            "resources": list(self.resources),
        }


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def expand_resource(service: str, resource: str, region: str, account_id: str) -> str:
    """A full ARN for a resource given in full or relative to the service."""
    if resource == "*" or resource.startswith("arn:"):
        return resource
    partition = partition_of(region)
    if service == "s3":
        return f"arn:{partition}:s3:::{resource}"
    if service == "ssm" and resource.startswith("/"):
        resource = f"parameter{resource}"
    if service == "secretsmanager" and not resource.startswith("secret:"):
        resource = f"secret:{resource}"
    return f"arn:{partition}:{service}:{region}:{account_id}:{resource}"


def job_statements(job: Job, region: str, account_id: str) -> list[IamStatement]:
    """The job role's statements: each ``access`` grant, then each raw statement."""
    statements: list[IamStatement] = []
    for index, grant in enumerate(job.access):
        resources = [expand_resource(grant.service, r, region, account_id) for r in grant.resources]
        verbs = sorted(set(grant.actions))
        name = grant.service.capitalize()
        object_verbs = [v for v in verbs if not (grant.service == "s3" and v == "list")]
        if object_verbs:
            actions = sorted({a for v in object_verbs for a in ACCESS_ACTIONS[grant.service][v]})
            statements.append(
                IamStatement(
                    f"{name}{''.join(v.capitalize() for v in object_verbs)}{index}",
                    "Allow",
                    tuple(actions),
                    tuple(resources),
                )
            )
        if grant.service == "s3" and "list" in verbs:
            # ListBucket is granted on the bucket, not on objects: "bucket/prefix/*" -> bucket.
            buckets = sorted({r if r == "*" else r.split("/", 1)[0] for r in resources})
            statements.append(IamStatement(f"S3List{index}", "Allow", ACCESS_ACTIONS["s3"]["list"], tuple(buckets)))
    for index, raw in enumerate(job.statements):
        statements.append(IamStatement(f"Statement{index}", raw.effect, tuple(raw.actions), tuple(raw.resources)))
    return statements

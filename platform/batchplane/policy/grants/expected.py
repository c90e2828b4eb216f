"""What the spec produces: every IAM-bearing resource of a root, as ``modules/`` renders it.

Computed in Python, mirroring the modules (one :class:`Expected` per
Terraform address). A module change that grants anything new must be
mirrored here, or every plan of it fails the gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchplane.images.lock import ImageLock
from batchplane.policy.grants.statements import Statement
from batchplane.render.roots import image_reference
from batchplane.spec.access import job_statements, partition_of
from batchplane.spec.models import FARGATE_KINDS, Platform


@dataclass(frozen=True)
class Expected:
    """One IAM-bearing resource instance the spec produces, as its module renders it."""

    type: str
    name: str | None = None
    """Role name; repository name of a repository policy."""
    role: str | None = None
    """Role (name) a policy, attachment or profile targets."""
    role_reference: str | None = None
    """Resource (module-relative, without index) whose id may stand for ``role`` while unknown."""
    statements: tuple[Statement, ...] = ()
    """The document (trust policy of a role)."""
    document: str | None = None
    """Data source (module-relative address) whose planned statements stand for an unknown ``policy``."""
    inline: Mapping[str, tuple[Statement, ...]] = field(default_factory=dict)
    """Role: inline policies by name (managed by separate role policies)."""
    managed: frozenset[str] = frozenset()
    """Role: managed policy ARNs; attachment: its one ARN."""


def _trust(service: str, account: str | None) -> tuple[Statement, ...]:
    conditions = frozenset({("stringequals", "aws:sourceaccount", frozenset({account}))}) if account else frozenset()
    return (
        Statement(
            actions=("sts:assumerole",),
            principals=frozenset({("Service", service)}),
            conditions=conditions,
        ),
    )


def _allow(actions: Iterable[str], resources: Iterable[str], sid: str | None = None, unknown: int = 0) -> Statement:
    return Statement(
        actions=tuple(sorted(a.lower() for a in actions)),
        resources=tuple(resources),
        sid=sid,
        unknown_resources=unknown,
    )


def _key_policy(partition: str, region: str, account: str, logs: bool) -> tuple[Statement, ...]:
    statements = [
        Statement(
            actions=("kms:*",),
            resources=("*",),
            principals=frozenset({("AWS", f"arn:{partition}:iam::{account}:root")}),
            sid="AccountAdministration",
        )
    ]
    if logs:
        logs_arn = f"arn:{partition}:logs:{region}:{account}:log-group:*"
        statements.append(
            Statement(
                actions=tuple(
                    sorted(
                        f"kms:{a}*".lower() for a in ("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "Describe")
                    )
                ),
                resources=("*",),
                principals=frozenset({("Service", f"logs.{region}.amazonaws.com")}),
                conditions=frozenset({("arnlike", "kms:encryptioncontext:aws:logs:arn", frozenset({logs_arn}))}),
                sid="CloudWatchLogs",
            )
        )
    return tuple(statements)


def _role(name: str, trust: tuple[Statement, ...], **kwargs: Any) -> Expected:
    return Expected("aws_iam_role", name=name, statements=trust, **kwargs)


def _role_policy(role: str, reference: str, statements: Iterable[Statement], document: str) -> Expected:
    return Expected(
        "aws_iam_role_policy", role=role, role_reference=reference, statements=tuple(statements), document=document
    )


def expected_env(
    platform: Platform, env: str, lock: ImageLock, *, stand_in_network: bool = False, key_arn: str | None = None
) -> dict[str, Expected]:
    """Terraform address -> the IAM-bearing resource the environment's root creates there.

    ``stand_in_network``: local mode replaces an existing network with one the
    network module creates (``batchplane.local.STAND_IN_NETWORK``), flow-log role included.
    ``key_arn``: the ARN of the environment's own key (``module.logs_key``) where the
    plan knows it already; on a first plan it is created in the same plan.
    """
    environment = platform.environments[env]
    region, account = platform.region, environment.account_id
    partition = partition_of(region)
    prefix = f"{platform.name}-{env}"
    found: dict[str, Expected] = {
        "module.logs_key.aws_kms_key.this": Expected(
            "aws_kms_key", statements=_key_policy(partition, region, account, logs=True)
        )
    }
    logs = f"arn:{partition}:logs:{region}:{account}:log-group:"
    if environment.network.create or stand_in_network:
        base = "module.network[0]"
        role = f"{prefix}-vpc-flow-logs"
        flow = (
            _allow(
                ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                [f"{logs}/aws/vpc-flow-logs/{prefix}:*"],
                unknown=1,
            ),
            _allow(["logs:DescribeLogGroups"], [f"{logs}*"]),
        )
        found[f"{base}.aws_iam_role.flow_logs"] = _role(
            role, _trust("vpc-flow-logs.amazonaws.com", account), inline={"flow-logs": flow}
        )
        found[f"{base}.aws_iam_role_policy.flow_logs"] = _role_policy(
            role, "aws_iam_role.flow_logs", flow, "data.aws_iam_policy_document.flow_logs"
        )
    for name, compute in platform.compute.items():
        if compute.kind in FARGATE_KINDS:
            continue
        base = f'module.compute["{name}"]'
        role = f"{prefix}-{name}-instance"
        arn = f"arn:{partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
        found[f"{base}.aws_iam_role.instance[0]"] = _role(
            role, _trust("ec2.amazonaws.com", None), managed=frozenset({arn})
        )
        found[f"{base}.aws_iam_role_policy_attachment.instance[0]"] = Expected(
            "aws_iam_role_policy_attachment", role=role, managed=frozenset({arn})
        )
        found[f"{base}.aws_iam_instance_profile.instance[0]"] = Expected("aws_iam_instance_profile", role=role)
    for name in platform.jobs:
        found.update(_expected_job(platform, env, lock, name, key_arn))
    for name in platform.pipelines:
        found.update(_expected_pipeline(platform, env, name, key_arn))
    return found


def _expected_job(
    platform: Platform, env: str, lock: ImageLock, name: str, key_arn: str | None = None
) -> dict[str, Expected]:
    """The roles and role policies of ``modules/job`` for one job."""
    job = platform.jobs[name]
    region, account = platform.region, platform.environments[env].account_id
    partition = partition_of(region)
    prefix = f"{platform.name}-{env}"
    logs = f"arn:{partition}:logs:{region}:{account}:log-group:"
    batch = f"arn:{partition}:batch:{region}:{account}"
    found: dict[str, Expected] = {}
    base = f'module.job["{name}"]'
    stem = f"{prefix}-{name}"
    tasks = _trust("ecs-tasks.amazonaws.com", account)
    granted = tuple(
        Statement(
            effect=s.effect,
            actions=tuple(a.lower() for a in s.actions),
            resources=s.resources,
            sid=s.sid,
        )
        for s in job_statements(job, region, account)
    )
    _, repository = image_reference(platform, lock, job.image, env)
    secrets = list(dict.fromkeys(":".join(a.split(":")[:7]) for a in job.secrets.values() if ":secretsmanager:" in a))
    parameters = [a for a in job.secrets.values() if ":ssm:" in a]
    execution = [_allow(["ecr:GetAuthorizationToken"], ["*"], "EcrAuth")]
    if repository is not None:
        actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
        execution.append(_allow(actions, [repository], "EcrPull"))
    execution.append(
        _allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{logs}/aws/batch/{prefix}/{name}:*"], "Logs", 1)
    )
    if parameters:
        execution.append(_allow(["ssm:GetParameters"], parameters, "Parameters"))
    if secrets:
        execution.append(
            _allow(["secretsmanager:GetSecretValue"], [r for a in secrets for r in (a, f"{a}-??????")], "Secrets")
        )
    inline_job = {"job": granted} if granted else {}
    found[f"{base}.aws_iam_role.job"] = _role(f"{stem}-job", tasks, inline=inline_job)
    found[f"{base}.aws_iam_role.execution"] = _role(f"{stem}-exec", tasks, inline={"execution": tuple(execution)})
    if granted:
        found[f"{base}.aws_iam_role_policy.job[0]"] = _role_policy(
            f"{stem}-job", "aws_iam_role.job", granted, "data.aws_iam_policy_document.job[0]"
        )
    found[f"{base}.aws_iam_role_policy.execution"] = _role_policy(
        f"{stem}-exec", "aws_iam_role.execution", execution, "data.aws_iam_policy_document.execution"
    )
    queue = f"{batch}:job-queue/{prefix}-{job.queue}"
    definition = f"{batch}:job-definition/{stem}"
    submit = (_allow(["batch:SubmitJob"], [queue, definition, f"{definition}:*"], unknown=3),)
    for kind, wanted, service, suffix in (
        ("scheduler", job.schedule is not None, "scheduler.amazonaws.com", "sched"),
        ("events", bool(job.triggers), "events.amazonaws.com", "events"),
    ):
        if not wanted:
            continue
        found[f"{base}.aws_iam_role.{kind}[0]"] = _role(
            f"{stem}-{suffix}", _trust(service, account), inline={"submit-job": submit}
        )
        found[f"{base}.aws_iam_role_policy.{kind}[0]"] = _role_policy(
            f"{stem}-{suffix}", f"aws_iam_role.{kind}", submit, "data.aws_iam_policy_document.submit[0]"
        )
    if job.schedule is not None:
        # Scheduler decrypts the schedule's input with the environment's key, as the schedule's role.
        decrypt = (_allow(["kms:Decrypt"], [key_arn] if key_arn else [], "DecryptScheduleInput", unknown=1),)
        found[f"{base}.aws_iam_role.scheduler[0]"] = _role(
            f"{stem}-sched",
            _trust("scheduler.amazonaws.com", account),
            inline={"submit-job": submit, "schedule-key": decrypt},
        )
        found[f"{base}.aws_iam_role_policy.schedule_key[0]"] = _role_policy(
            f"{stem}-sched", "aws_iam_role.scheduler", decrypt, "data.aws_iam_policy_document.schedule_key[0]"
        )
    return found


# Log delivery and X-Ray actions of a state machine role: none has a resource type.
_PIPELINE_LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
_PIPELINE_TRACING = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)


def _expected_pipeline(platform: Platform, env: str, name: str, key_arn: str | None = None) -> dict[str, Expected]:
    """The roles and role policies of ``modules/pipeline`` for one pipeline."""
    pipeline = platform.pipelines[name]
    region, account = platform.region, platform.environments[env].account_id
    partition = partition_of(region)
    prefix = f"{platform.name}-{env}"
    batch = f"arn:{partition}:batch:{region}:{account}"
    stem = f"{prefix}-{name}"
    base = f'module.pipeline["{name}"]'
    jobs = list(dict.fromkeys(step.job for step in pipeline.steps.values()))
    queues = [f"{batch}:job-queue/{prefix}-{q}" for q in dict.fromkeys(platform.jobs[j].queue for j in jobs)]
    definitions = [f"{batch}:job-definition/{prefix}-{j}" for j in jobs]
    submit = [*queues, *definitions, *(f"{d}:*" for d in definitions)]
    rule = f"arn:{partition}:events:{region}:{account}:rule/StepFunctionsGetEventsForBatchJobsRule"
    run = (
        _allow(["batch:SubmitJob"], submit, "SubmitSteps", unknown=len(submit)),
        _allow(["batch:DescribeJobs"], ["*"], "FollowJobs"),
        _allow(["events:PutTargets", "events:PutRule", "events:DescribeRule"], [rule], "BatchJobEvents"),
        _allow(_PIPELINE_LOG_DELIVERY, ["*"], "LogDelivery"),
        _allow(_PIPELINE_TRACING, ["*"], "Tracing"),
    )
    found = {
        f"{base}.aws_iam_role.state_machine": _role(
            f"{stem}-sfn", _trust("states.amazonaws.com", account), inline={"run-steps": run}
        ),
        f"{base}.aws_iam_role_policy.state_machine": _role_policy(
            f"{stem}-sfn", "aws_iam_role.state_machine", run, "data.aws_iam_policy_document.state_machine"
        ),
    }
    state_machine = f"arn:{partition}:states:{region}:{account}:stateMachine:{stem}"
    start = (_allow(["states:StartExecution"], [state_machine], unknown=1),)
    decrypt = (_allow(["kms:Decrypt"], [key_arn] if key_arn else [], "DecryptScheduleInput", unknown=1),)
    for kind, wanted, service, suffix in (
        ("scheduler", pipeline.schedule is not None, "scheduler.amazonaws.com", "sched"),
        ("events", bool(pipeline.triggers), "events.amazonaws.com", "events"),
    ):
        if not wanted:
            continue
        inline = {"start-execution": start, **({"schedule-key": decrypt} if kind == "scheduler" else {})}
        found[f"{base}.aws_iam_role.{kind}[0]"] = _role(f"{stem}-{suffix}", _trust(service, account), inline=inline)
        found[f"{base}.aws_iam_role_policy.{kind}[0]"] = _role_policy(
            f"{stem}-{suffix}", f"aws_iam_role.{kind}", start, "data.aws_iam_policy_document.start[0]"
        )
    if pipeline.schedule is not None:
        found[f"{base}.aws_iam_role_policy.schedule_key[0]"] = _role_policy(
            f"{stem}-sched", "aws_iam_role.scheduler", decrypt, "data.aws_iam_policy_document.schedule_key[0]"
        )
    return found


def expected_shared(platform: Platform) -> dict[str, Expected]:
    """Terraform address -> IAM-bearing resource of the shared root (ECR repositories and their key)."""
    region, account = platform.region, platform.registry_account_id
    partition = partition_of(region)
    found = {
        "module.kms_key.aws_kms_key.this": Expected(
            "aws_kms_key", statements=_key_policy(partition, region, account, logs=False)
        )
    }
    pullers = frozenset(f"arn:{partition}:iam::{e.account_id}:root" for e in platform.environments.values())
    pull = Statement(
        actions=("ecr:batchchecklayeravailability", "ecr:batchgetimage", "ecr:getdownloadurlforlayer"),
        principals=frozenset(("AWS", p) for p in pullers),
        sid="CrossAccountPull",
    )
    for image in sorted({job.image for job in platform.jobs.values()}):
        found[f'module.repository["{image}"].aws_ecr_repository_policy.this[0]'] = Expected(
            "aws_ecr_repository_policy", name=f"{platform.name}/{image}", statements=(pull,) if pullers else ()
        )
    return found

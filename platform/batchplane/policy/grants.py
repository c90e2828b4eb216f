"""The plan gate's IAM comparison: every grant a plan would make is one the spec produces.

batchplane renders every IAM grant from the spec, so the expected IAM of an
environment is computed here in Python, mirroring ``modules/`` (one
:class:`Expected` per Terraform address), and compared with the resolved values
of a plan JSON (``terraform show -json``). Pure Python on the JSON: it runs in
every ``plan``.

What is compared (every resource instance the plan keeps or creates):

* Roles: name, trust policy (principals, actions, conditions), ``inline_policy``
  entries (each judged as the inline policy of that name) and
  ``managed_policy_arns``.
* Role policies, role policy attachments, instance profiles: the role they
  attach to and the document or managed policy ARN.
* Resource policies the modules create: the KMS key policies and the ECR
  repository pull policy (principals, actions, resources, conditions).
* Every other IAM-bearing resource: any ``aws_iam_*`` type, any type whose name
  speaks of a policy, permission or grant, any resource with a ``policy``-like
  attribute (:data:`POLICY_ATTRIBUTES`). Where the spec produces none, each
  one is a finding (BP-PLAN-001), whatever it contains.

Containment is judged with IAM glob semantics (``*`` any run, ``?`` one
character; actions case-insensitive): a planned ``s3:Get*`` is not covered by
an expected ``s3:GetObject``, a planned ``a/*`` is covered by ``a/*`` but not
by ``a/b``. ``NotAction``/``NotResource``/``NotPrincipal`` in an Allow are
unbounded. Deny statements only narrow and are not judged; extra conditions
only narrow, a missing expected condition widens.

Unknown values ("known after apply") never widen: an unknown IAM-relevant
value is a finding (BP-PLAN-005), except exactly these, which the spec's own
modules produce on a first plan:

* ``role`` of a role policy, when its configuration references nothing but
  the expected role of the same module instance (``aws_iam_role.<r>.id``).
* ``policy`` of a role policy, when its configuration references nothing but
  the expected ``aws_iam_policy_document`` of the same module instance; the
  document's own planned statements are then judged instead, and must not
  merge other documents (``source_policy_documents``, ...).
* Inside such a document, an unknown element of ``resources`` only in a
  statement whose sid, effect and actions are exactly an expected statement
  that holds as many ARNs created in the same plan (the job's log group, the
  queue and job definition a submitter role submits to, the flow-log group).
* ``inline_policy`` and ``managed_policy_arns`` of a role whose configuration
  does not set them (the provider then manages neither).

What the plan JSON cannot show, and this comparison therefore does not prove:
a function applied to one of those allowed references (``replace(<doc>.json,
...)``) has the same references as the bare reference, and a ``dynamic``
``inline_policy`` block whose ``for_each`` is unknown does not appear in the
plan's configuration at all. Both need module code changed; the HCL scan
(root integrity, Checkov on ``modules/``) and review must catch those. Nor
does it compare which existing role a job definition, schedule or event
target *uses* (``jobRoleArn``, ``role_arn``), only what roles are granted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchplane.images.lock import ImageLock, read_lock
from batchplane.policy.findings import Finding, Outcome, Passed
from batchplane.render.roots import SHARED_ROOT, SOURCEMAP, image_reference
from batchplane.spec.access import job_statements, partition_of
from batchplane.spec.loader import Spec
from batchplane.spec.models import FARGATE_KINDS, Platform

EXTRA_RESOURCE_ID = "BP-PLAN-001"
EXTRA_GRANT_ID = "BP-PLAN-002"
EXTRA_PRINCIPAL_ID = "BP-PLAN-003"
EXTRA_ATTACHMENT_ID = "BP-PLAN-004"
UNKNOWN_ID = "BP-PLAN-005"
WRONG_TARGET_ID = "BP-PLAN-006"
UNREADABLE_ID = "BP-PLAN-007"
TITLES = {
    EXTRA_RESOURCE_ID: "Every IAM-bearing resource in the plan is one the spec produces",
    EXTRA_GRANT_ID: "Every grant in the plan is one the spec produces",
    EXTRA_PRINCIPAL_ID: "Every trusted or resource-policy principal is one the spec produces",
    EXTRA_ATTACHMENT_ID: "Every managed or inline policy of a role is one the spec produces",
    UNKNOWN_ID: "No IAM-relevant value is unknown at plan time",
    WRONG_TARGET_ID: "Every policy, attachment and profile targets the role the spec names",
    UNREADABLE_ID: "The plan JSON can be read",
}

POLICY_ATTRIBUTES = frozenset(
    {
        "policy",
        "assume_role_policy",
        "inline_policy",
        "managed_policy_arns",
        "policy_arn",
        "policy_document",
        "policy_json",
        "access_policies",
        "access_policy",
        "resource_policy",
        "principal",
        "principals",
        "grantee_principal",
    }
)
"""Attributes that make any resource type IAM-bearing."""

NOT_IAM_TYPES = frozenset({"aws_ecr_lifecycle_policy"})
"""Types whose ``policy`` is no permission (image expiry rules)."""

_IAM_NAME = re.compile(r"^aws_iam_|_polic(y|ies)(_|$)|permission|_grant(_|$)|_authorization")
_INDEX = re.compile(r"\[[^\]]*\]")
_MODULE = re.compile(r"module\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.")

# --- statements ---------------------------------------------------------------

Principal = tuple[str, str]
Condition = tuple[str, str, frozenset[str]]


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised (actions lower case)."""

    effect: str = "Allow"
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    principals: frozenset[Principal] = frozenset()
    conditions: frozenset[Condition] = frozenset()
    sid: str | None = None
    unbounded: tuple[str, ...] = ()
    """NotAction / NotResource / NotPrincipal present: grants without bound."""
    unknown_resources: int = 0
    """Resources known only after apply (planned) or ARNs created in the same plan (expected)."""


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (json.dumps(value, sort_keys=True),)


def _principals(value: Any, partition: str) -> frozenset[Principal]:
    if value is None:
        return frozenset()
    if value == "*":
        return frozenset({("AWS", "*")})
    if not isinstance(value, dict):
        return frozenset({("?", json.dumps(value, sort_keys=True))})
    found: set[Principal] = set()
    for kind, ids in value.items():
        for identifier in _strings(ids):
            found.add((str(kind), _account_arn(identifier, partition)))
    return frozenset(found)


def _account_arn(identifier: str, partition: str) -> str:
    """A bare account id names the account's root, as AWS reads it."""
    return f"arn:{partition}:iam::{identifier}:root" if re.fullmatch(r"[0-9]{12}", identifier) else identifier


def _conditions(value: Any) -> frozenset[Condition]:
    found: set[Condition] = set()
    if isinstance(value, dict):
        for test, keys in value.items():
            if isinstance(keys, dict):
                for key, values in keys.items():
                    found.add((str(test).lower(), str(key).lower(), frozenset(_strings(values))))
            else:
                found.add((str(test).lower(), "?", frozenset(_strings(keys))))
    elif value is not None:
        found.add(("?", "?", frozenset(_strings(value))))
    return frozenset(found)


def parse_policy(text: str, partition: str) -> list[Statement]:
    """The statements of a JSON policy document; raises ValueError when it is not one."""
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    raw = document.get("Statement", [])
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list):
        raise ValueError("Statement is neither an object nor a list")
    statements = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a statement is not an object")
        unbounded = tuple(k for k in ("NotAction", "NotResource", "NotPrincipal") if k in item)
        statements.append(
            Statement(
                effect=str(item.get("Effect", "")),
                actions=tuple(a.lower() for a in _strings(item.get("Action"))),
                resources=_strings(item.get("Resource")),
                principals=_principals(item.get("Principal"), partition),
                conditions=_conditions(item.get("Condition")),
                sid=item.get("Sid"),
                unbounded=unbounded,
            )
        )
    return statements


# --- IAM glob containment -----------------------------------------------------


def covers(expected: str, planned: str, *, fold: bool = False) -> bool:
    """Whether every string the glob ``planned`` matches is matched by the glob ``expected``.

    Sound, not complete: ``expected`` is matched against ``planned`` read as
    tokens, where a planned ``*`` can only be taken by an expected ``*`` and a
    planned ``?`` by an expected ``?`` or ``*``.
    """
    if fold:
        expected, planned = expected.lower(), planned.lower()
    if "*" not in expected and "?" not in expected:
        return expected == planned
    n, m = len(expected), len(planned)
    # reach[j]: expected[:i] can take planned[:j]
    reach = [True] + [False] * m
    for i in range(n):
        e = expected[i]
        nxt = [False] * (m + 1)
        if e == "*":
            seen = False
            for j in range(m + 1):
                seen = seen or reach[j]
                nxt[j] = seen
        else:
            for j in range(m):
                if reach[j]:
                    p = planned[j]
                    if (e == "?" and p != "*") or (e == p and p not in "*?"):
                        nxt[j + 1] = True
        reach = nxt
    return reach[m]


def _conditions_hold(expected: frozenset[Condition], planned: frozenset[Condition]) -> bool:
    """Every expected condition is in the planned statement, with no other values (conditions AND)."""
    return all(any(t == pt and k == pk and pv <= v for pt, pk, pv in planned) for t, k, v in expected)


def _principal_covered(planned: Principal, expected: frozenset[Principal]) -> bool:
    return planned in expected or (planned[0] == "AWS" and ("AWS", "*") in expected)


def uncovered(planned: Statement, expected: Iterable[Statement], *, resource_policy: bool = False) -> list[str]:
    """What ``planned`` (one Allow statement) grants beyond every expected Allow statement."""
    allows = [e for e in expected if e.effect == "Allow"]
    if planned.unbounded:
        return [f"{', '.join(planned.unbounded)} (unbounded)"]
    extra: list[str] = []
    candidates = [e for e in allows if _conditions_hold(e.conditions, planned.conditions)]
    if resource_policy:
        for principal in sorted(planned.principals):
            if not any(_principal_covered(principal, e.principals) for e in candidates):
                loose = any(_principal_covered(principal, e.principals) for e in allows)
                guard = " without the conditions the spec sets" if loose else ""
                extra.append(f"principal {principal[0]}:{principal[1]}{guard}")
        if extra:
            return extra  # its grants are extra because of who receives them: one finding says so
        candidates = [e for e in candidates if all(_principal_covered(p, e.principals) for p in planned.principals)]
    if planned.unknown_resources:
        fits = [
            e
            for e in candidates
            if e.unknown_resources >= planned.unknown_resources
            and e.sid == planned.sid
            and set(e.actions) == set(planned.actions)
            and all(any(covers(x, r) for x in e.resources) for r in planned.resources)
        ]
        if not fits:
            extra.append(f"{planned.unknown_resources} resource(s) unknown at plan time for {list(planned.actions)}")
    # A statement whose resources are all unknown was judged above, against the expected ARNs.
    resources = planned.resources or (() if planned.unknown_resources else ("",))
    for action in planned.actions:
        for resource in resources:
            if not any(
                any(covers(a, action, fold=True) for a in e.actions)
                and any(covers(x, resource) for x in (e.resources or ("",)))
                for e in candidates
            ):
                extra.append(f"{action} on {resource or '(this resource)'}")
    return extra


# --- what the spec produces ---------------------------------------------------


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
    network module creates (``batchplane.local.workcopy.STAND_IN_NETWORK``), flow-log role included.
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


# --- the plan -----------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One resource instance of the plan: its values after the change, and which of them are unknown."""

    address: str
    type: str
    mode: str
    actions: tuple[str, ...]
    after: dict[str, Any]
    unknown: dict[str, Any]
    config: dict[str, Any] | None


def _module_config(document: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The configuration of the resource at ``address`` (instance keys dropped)."""
    module: Any = (document.get("configuration") or {}).get("root_module") or {}
    rest = address
    while (match := _MODULE.match(rest)) is not None:
        module = ((module.get("module_calls") or {}).get(match.group(1)) or {}).get("module") or {}
        rest = rest[match.end() :]
    target = _INDEX.sub("", rest)
    for resource in module.get("resources") or []:
        if resource.get("address") == target:
            return dict(resource.get("expressions") or {})
    return None


def planned_resources(document: dict[str, Any]) -> Iterator[Planned]:
    """Every resource instance of the plan that exists after it (managed and deferred data reads)."""
    for change in document.get("resource_changes") or []:
        body = change.get("change") or {}
        after = body.get("after")
        if after is None:
            continue  # deleted: nothing is granted afterwards
        address = str(change.get("address", ""))
        unknown = body.get("after_unknown")
        yield Planned(
            address=address,
            type=str(change.get("type", "")),
            mode=str(change.get("mode", "managed")),
            actions=tuple(body.get("actions") or ()),
            after=after if isinstance(after, dict) else {},
            unknown=unknown if isinstance(unknown, dict) else {},
            config=_module_config(document, address),
        )


def is_iam_bearing(resource: Planned) -> bool:
    """Whether a resource can grant or carry permissions (generous: unknown types count)."""
    if resource.type in NOT_IAM_TYPES:
        return False
    keys = set(resource.after) | set(resource.unknown) | set(resource.config or {})
    return bool(_IAM_NAME.search(resource.type)) or bool(keys & POLICY_ATTRIBUTES)


def _is_unknown(value: Any) -> bool:
    """Whether an ``after_unknown`` entry marks anything (nested lists and maps included) unknown."""
    if value is True:
        return True
    if isinstance(value, list):
        return any(_is_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(_is_unknown(v) for v in value.values())
    return False


def _module_prefix(address: str) -> str:
    """``module.a["k"].module.b.`` of an address inside modules; empty at the root."""
    end = 0
    while (match := _MODULE.match(address, end)) is not None:
        end = match.end()
    return address[:end]


def _references_only(config: dict[str, Any] | None, attribute: str, allowed: str) -> bool:
    """Whether the attribute's expression references ``allowed`` (instance, attributes) and nothing else."""
    expression = (config or {}).get(attribute)
    if not isinstance(expression, dict) or "references" not in expression:
        return False
    base = _INDEX.sub("", allowed)
    return all(
        _INDEX.sub("", str(r)) in {base, f"{base}.id", f"{base}.name", f"{base}.json"} for r in expression["references"]
    )


class MergedDocumentError(ValueError):
    """A policy document that merges others: grants the spec does not produce, known or not."""


def _document_statements(data: Planned, partition: str) -> list[Statement]:
    """The statements of a (deferred) ``aws_iam_policy_document``; ValueError when a bound is unknown."""
    for merged in ("source_json", "override_json", "source_policy_documents", "override_policy_documents"):
        if data.after.get(merged) or _is_unknown(data.unknown.get(merged)):
            raise MergedDocumentError(f"merges other documents ({merged}), which the spec never does")
    blocks = data.after.get("statement") or []
    unknown_blocks = data.unknown.get("statement")
    if _is_unknown(unknown_blocks) and not isinstance(unknown_blocks, list):
        raise ValueError("its statements are unknown at plan time")
    statements = []
    for index, block in enumerate(blocks):
        marks = unknown_blocks[index] if isinstance(unknown_blocks, list) and index < len(unknown_blocks) else {}
        marks = marks if isinstance(marks, dict) else {}
        for key, value in marks.items():
            if key != "resources" and _is_unknown(value):
                raise ValueError(f"statement {index}: {key} unknown at plan time")
        resource_marks = marks.get("resources")
        resources = block.get("resources") or []
        unknown_count = (
            len(resources)
            if resource_marks is True
            else sum(1 for m in resource_marks or [] if _is_unknown(m))
            if isinstance(resource_marks, list)
            else 0
        )
        known = tuple(
            str(r)
            for i, r in enumerate(resources)
            if r is not None
            and not (isinstance(resource_marks, list) and i < len(resource_marks) and _is_unknown(resource_marks[i]))
        )
        unbounded = tuple(k for k in ("not_actions", "not_resources", "not_principals") if block.get(k))
        principals: set[Principal] = set()
        for principal in block.get("principals") or []:
            for identifier in principal.get("identifiers") or []:
                principals.add((str(principal.get("type")), _account_arn(str(identifier), partition)))
        conditions = frozenset(
            (str(c.get("test", "")).lower(), str(c.get("variable", "")).lower(), frozenset(_strings(c.get("values"))))
            for c in block.get("condition") or []
        )
        statements.append(
            Statement(
                effect=block.get("effect") or "Allow",
                actions=tuple(str(a).lower() for a in block.get("actions") or []),
                resources=known,
                principals=frozenset(principals),
                conditions=conditions,
                sid=block.get("sid") or None,
                unbounded=unbounded,
                unknown_resources=unknown_count,
            )
        )
    return statements


# --- comparison ---------------------------------------------------------------


@dataclass
class _Judge:
    root: str
    partition: str
    expected: dict[str, Expected]
    resources: dict[str, Planned]
    locate: Any
    findings: list[Finding] = field(default_factory=list)

    def finding(self, rule: str, address: str, message: str) -> None:
        spec_path, line = self.locate(address)
        # The address leads the message: the text report names the spec path, the address says where in Terraform.
        self.findings.append(Finding(self.root, spec_path, rule, address, "critical", line, f"{address}: {message}"))

    def unknown(self, resource: Planned, attribute: str) -> bool:
        if _is_unknown(resource.unknown.get(attribute)):
            self.finding(
                UNKNOWN_ID,
                resource.address,
                f"{attribute} is unknown at plan time: an unknown value never widens what the spec grants",
            )
            return True
        return False

    def document(self, resource: Planned, attribute: str, text: Any) -> list[Statement] | None:
        try:
            return parse_policy(str(text), self.partition)
        except ValueError as exc:
            self.finding(UNREADABLE_ID, resource.address, f"{attribute} is not a JSON policy document: {exc}")
            return None

    def statements(
        self, address: str, planned: list[Statement], expected: Iterable[Statement], what: str, *, principals: bool
    ) -> None:
        wanted = list(expected)
        for statement in planned:
            if statement.effect == "Deny":
                continue  # only narrows
            if statement.effect != "Allow":
                self.finding(EXTRA_GRANT_ID, address, f"{what}: a statement with effect {statement.effect!r}")
                continue
            extra = uncovered(statement, wanted, resource_policy=principals)
            if not extra:
                continue
            grants = [e for e in extra if not e.startswith("principal ")]
            people = [e for e in extra if e.startswith("principal ")]
            if people:
                self.finding(EXTRA_PRINCIPAL_ID, address, f"{what} trusts what the spec does not: {'; '.join(people)}")
            if grants:
                self.finding(EXTRA_GRANT_ID, address, f"{what} grants what the spec does not: {'; '.join(grants)}")

    # -- per type --

    def role(self, resource: Planned, want: Expected) -> None:
        after = resource.after
        if not self.unknown(resource, "name") and after.get("name") != want.name:
            self.finding(
                WRONG_TARGET_ID, resource.address, f"role name {after.get('name')!r}, the spec names {want.name!r}"
            )
        if not self.unknown(resource, "assume_role_policy"):
            trust = self.document(resource, "assume_role_policy", after.get("assume_role_policy"))
            if trust is not None:
                self.statements(resource.address, trust, want.statements, "trust policy", principals=True)
        config = resource.config or {}
        for attribute in ("inline_policy", "managed_policy_arns"):
            if _is_unknown(resource.unknown.get(attribute)) and attribute in config:
                self.unknown(resource, attribute)
        for entry in after.get("inline_policy") or []:
            name = entry.get("name")
            if name not in want.inline:
                self.finding(EXTRA_ATTACHMENT_ID, resource.address, f"inline policy {name!r} the spec does not produce")
                continue
            statements = self.document(resource, f"inline policy {name!r}", entry.get("policy"))
            if statements is not None:
                self.statements(
                    resource.address, statements, want.inline[name], f"inline policy {name!r}", principals=False
                )
        for arn in after.get("managed_policy_arns") or []:
            if arn not in want.managed:
                self.finding(EXTRA_ATTACHMENT_ID, resource.address, f"managed policy {arn} the spec does not attach")

    def role_target(self, resource: Planned, want: Expected) -> None:
        if _is_unknown(resource.unknown.get("role")):
            if want.role_reference and _references_only(resource.config, "role", want.role_reference):
                return  # the expected role of this module instance: its id is its name, created here
            self.unknown(resource, "role")
        elif resource.after.get("role") != want.role:
            self.finding(
                WRONG_TARGET_ID,
                resource.address,
                f"attached to role {resource.after.get('role')!r}, the spec names {want.role!r}",
            )

    def role_policy(self, resource: Planned, want: Expected) -> None:
        self.role_target(resource, want)
        statements: list[Statement] | None
        if _is_unknown(resource.unknown.get("policy")):
            statements = self.deferred(resource, want)
        else:
            statements = self.document(resource, "policy", resource.after.get("policy"))
        if statements is not None:
            self.statements(resource.address, statements, want.statements, "policy", principals=False)

    def deferred(self, resource: Planned, want: Expected) -> list[Statement] | None:
        """The statements of the expected document, when ``policy`` is a bare reference to it."""
        if want.document is None or not _references_only(resource.config, "policy", want.document):
            self.unknown(resource, "policy")
            return None
        data = self.resources.get(_module_prefix(resource.address) + want.document)
        if data is None:
            self.unknown(resource, "policy")
            return None
        try:
            return _document_statements(data, self.partition)
        except ValueError as exc:
            rule = EXTRA_GRANT_ID if isinstance(exc, MergedDocumentError) else UNKNOWN_ID
            self.finding(rule, resource.address, f"policy from {data.address}: {exc}")
            return None

    def attachment(self, resource: Planned, want: Expected) -> None:
        self.role_target(resource, want)
        if not self.unknown(resource, "policy_arn") and resource.after.get("policy_arn") not in want.managed:
            self.finding(
                EXTRA_ATTACHMENT_ID,
                resource.address,
                f"attaches {resource.after.get('policy_arn')} the spec does not attach",
            )

    def resource_policy(self, resource: Planned, want: Expected) -> None:
        repository = want.type == "aws_ecr_repository_policy" and not self.unknown(resource, "repository")
        if repository and resource.after.get("repository") != want.name:
            self.finding(
                WRONG_TARGET_ID,
                resource.address,
                f"policy of repository {resource.after.get('repository')!r}, the spec names {want.name!r}",
            )
        if not self.unknown(resource, "policy"):
            statements = self.document(resource, "policy", resource.after.get("policy"))
            if statements is not None:
                self.statements(resource.address, statements, want.statements, "resource policy", principals=True)

    def judge(self, resource: Planned) -> bool:
        """Judge one managed resource; True when it is IAM-bearing."""
        want = self.expected.get(resource.address)
        if want is None or want.type != resource.type:
            if not is_iam_bearing(resource):
                return False
            keys = sorted((set(resource.after) | set(resource.config or {})) & POLICY_ATTRIBUTES)
            carried = f" (carries {', '.join(keys)})" if keys else ""
            self.finding(
                EXTRA_RESOURCE_ID,
                resource.address,
                f"{resource.type} the spec does not produce{carried}: batchplane renders every grant from the spec",
            )
            return True
        if want.type == "aws_iam_role":
            self.role(resource, want)
        elif want.type == "aws_iam_role_policy":
            self.role_policy(resource, want)
        elif want.type == "aws_iam_role_policy_attachment":
            self.attachment(resource, want)
        elif want.type == "aws_iam_instance_profile":
            self.role_target(resource, want)
        else:
            self.resource_policy(resource, want)
        return True


def compare(document: dict[str, Any], root: str, expected: dict[str, Expected], partition: str, locate: Any) -> Outcome:
    """Findings for every IAM-bearing resource of a plan JSON that goes beyond ``expected``."""
    resources = {r.address: r for r in planned_resources(document)}
    judge = _Judge(root, partition, expected, resources, locate)
    passed: list[Passed] = []
    for resource in resources.values():
        if resource.mode != "managed":
            continue
        before = len(judge.findings)
        if judge.judge(resource) and len(judge.findings) == before:
            spec_path, _ = locate(resource.address)
            passed.append(Passed(root, EXTRA_GRANT_ID, resource.address, spec_path))
    return Outcome(tuple(sorted(judge.findings)), tuple(sorted(passed)), dict(TITLES))


def _locator(spec: Spec, root: str) -> Any:
    from batchplane.policy.checkov.adapter import SourceMap  # no Checkov import: only the adapter's own code

    loc: tuple[str, ...] = ("registry",) if root == SHARED_ROOT else ("environments", root)
    fallback = (".".join(loc), spec.locations.line(loc))
    directory = spec.root / "environments" / root
    sourcemap = SourceMap.read(directory, fallback) if (directory / SOURCEMAP).is_file() else SourceMap(fallback, {})
    return sourcemap.locate


def _planned_key_arn(document: dict[str, Any]) -> str | None:
    """The ARN of the environment's key where the plan knows it (it exists already)."""
    for change in document.get("resource_changes") or []:
        if isinstance(change, dict) and change.get("address") == "module.logs_key.aws_kms_key.this":
            arn = ((change.get("change") or {}).get("after") or {}).get("arn")
            return arn if isinstance(arn, str) and arn else None
    return None


def check_plan(spec: Spec, root: str, plan: Path) -> Outcome:
    """The plan gate's IAM comparison of one root's plan JSON against the spec (see the module docstring)."""
    locate = _locator(spec, root)
    try:
        document = json.loads(plan.read_text(encoding="utf-8"))
        problem = "" if isinstance(document, dict) and "resource_changes" in document else "not a terraform plan JSON"
    except (OSError, ValueError) as exc:
        document, problem = {}, f"cannot be read as JSON: {exc}"
    if problem:
        spec_path, line = locate("")
        finding = Finding(root, spec_path, UNREADABLE_ID, "", "critical", line, f"plan {plan}: {problem}")
        return Outcome((finding,), (), dict(TITLES))
    if root == SHARED_ROOT:
        expected = expected_shared(spec.platform)
        region = spec.platform.region
    else:
        platform = spec.env(root)
        # The root's network variable as planned: only batchplane's local mode sets it to a
        # created stand-in for an existing network (root integrity keeps values files render's own).
        network = ((document.get("variables") or {}).get("network") or {}).get("value")
        stand_in = isinstance(network, dict) and network.get("create") is True
        expected = expected_env(
            platform, root, read_lock(spec.root), stand_in_network=stand_in, key_arn=_planned_key_arn(document)
        )
        region = platform.region
    return compare(document, root, expected, partition_of(region), locate)

"""The job models of the spec: a job type, its retry strategy, grants and triggers.

Like every spec model they forbid unknown keys and are frozen (see
:class:`batchplane.spec.base.Model`); checks that relate a job to other
sections live in :mod:`batchplane.spec.checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from batchplane.spec.base import Model, Name
from batchplane.spec.schedule import schedule_problem

EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ParameterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$")]
ShareIdentifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,255}$")]
"""A fair-share identifier as AWS Batch takes it: letters, digits and _, at most 255."""

# AWS Batch array jobs have 2 to 10000 children.
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
ArraySize = Annotated[int, Field(ge=MIN_ARRAY_SIZE, le=MAX_ARRAY_SIZE)]

AccessService = Literal["s3", "dynamodb", "sqs", "sns", "secretsmanager", "ssm", "kms", "logs"]
AccessVerb = Literal["read", "write", "list", "delete"]

# Python patterns here are used with fullmatch only: `$` would also match before a
# trailing newline ("rate(1 day)\n"), which AWS then refuses. pydantic's
# StringConstraints patterns run on Rust's regex engine, whose `$` is the end of
# the text, so they already match whole strings (a test pins that down).
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^\s]+"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[^\s]+)"
)

# AWS Batch takes attemptDurationSeconds as a 32-bit integer.
MAX_TIMEOUT_SECONDS = 2**31 - 1
# The largest EC2 instance (u-24tb1) has 24 TiB; AWS Batch refuses more memory per job.
MAX_MEMORY_MIB = 24 * 1024 * 1024


def _secret_arn(value: str) -> str:
    """One secret's ARN; validated per entry so that errors point at its line."""
    if not _SECRET_ARN.fullmatch(value):
        raise ValueError(f"{value!r} is not a Secrets Manager secret or SSM parameter ARN")
    return value


_EXIT_CODE_PATTERN = re.compile(r"[0-9]+\*?|\*")
_REASON_PATTERN = re.compile(r"[A-Za-z0-9 .:_-]*\*?")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30s``, ``15m``, ``2h``, ``1d`` or ``1h30m``."""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration: use a number with s, m, h or d, e.g. 15m")
    if any(group is not None and len(group) > 12 for group in match.groups()):
        raise ValueError(f"{text!r} is longer than AWS Batch allows ({MAX_TIMEOUT_SECONDS} s)")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class RetryRule(Model):
    """One evaluateOnExit entry; every given condition must match."""

    on_status_reason: Annotated[str, StringConstraints(max_length=512)] | None = None
    on_reason: Annotated[str, StringConstraints(max_length=512)] | None = None
    on_exit_code: Annotated[str, StringConstraints(max_length=512)] | None = None
    action: Literal["retry", "exit", "RETRY", "EXIT"]

    @model_validator(mode="after")
    def _patterns(self) -> RetryRule:
        if self.on_status_reason is None and self.on_reason is None and self.on_exit_code is None:
            raise ValueError("give at least one of on_status_reason, on_reason, on_exit_code")
        for text in (self.on_status_reason, self.on_reason):
            if text is not None and not _REASON_PATTERN.fullmatch(text):
                raise ValueError(
                    f"pattern {text!r}: letters, digits, spaces and .:_- only, with * allowed only at the end"
                )
        if self.on_exit_code is not None and not _EXIT_CODE_PATTERN.fullmatch(self.on_exit_code):
            raise ValueError(f"on_exit_code {self.on_exit_code!r}: digits, optionally ending in *, or *")
        return self

    @property
    def is_catch_all_exit(self) -> bool:
        """True for an EXIT whose only condition is a bare ``*``."""
        conditions = [c for c in (self.on_status_reason, self.on_reason, self.on_exit_code) if c is not None]
        return self.action.lower() == "exit" and conditions == ["*"]


class Retry(Model):
    """Retry strategy; batchplane appends a catch-all EXIT unless the list ends with one."""

    attempts: Annotated[int, Field(ge=1, le=10)] = 1
    on_exit: list[RetryRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _at_most_five(self) -> Retry:
        room = 5 if self.on_exit and self.on_exit[-1].is_catch_all_exit else 4
        if len(self.on_exit) > room:
            raise ValueError(
                f"at most {room} on_exit entries: AWS allows 5 and batchplane adds a catch-all EXIT "
                "unless the last entry already is one ({on_reason: '*', action: exit})"
            )
        return self


class Access(Model):
    """A least-privilege grant, expanded into IAM actions (see the README's table)."""

    service: AccessService
    actions: Annotated[list[AccessVerb], Field(min_length=1)]
    resources: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]


class Statement(Model):
    """A raw IAM statement for the job role; the policy checks judge it."""

    effect: Literal["Allow", "Deny"] = "Allow"
    actions: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^(\*|[a-z0-9-]+:[A-Za-z0-9*]+)$")]],
        Field(min_length=1),
    ]
    resources: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]


class S3Trigger(Model):
    """Submit the job when an object lands in a bucket (EventBridge notifications on)."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: Annotated[str, StringConstraints(pattern=r"^[^*]+$")] | None = None
    suffix: Annotated[str, StringConstraints(pattern=r"^[^*]+$")] | None = None
    parameter: ParameterName | None = Field(
        default=None,
        description="Job parameter that receives s3://bucket/key of the new object "
        "(default: `input` when the job declares that parameter).",
    )


class Trigger(Model):
    """An event that submits the job."""

    s3: S3Trigger


class Job(Model):
    """A job type: one job definition plus its roles, logs, schedule and triggers."""

    image: Name
    queue: Name
    vcpus: Annotated[float, Field(gt=0, le=256)]
    memory_mib: Annotated[int, Field(ge=4, le=MAX_MEMORY_MIB)]
    command: Annotated[list[str], Field(min_length=1)]
    parameters: dict[ParameterName, str] = Field(default_factory=dict)
    environment: dict[EnvVarName, str] = Field(default_factory=dict)
    secrets: dict[EnvVarName, Annotated[str, AfterValidator(_secret_arn)]] = Field(default_factory=dict)
    timeout: str | None = Field(default=None, description="30s | 15m | 2h | 1d (at least 60 s).")
    retry: Retry | None = None
    interruptible: bool = False
    access: list[Access] = Field(default_factory=list)
    statements: list[Statement] = Field(default_factory=list)
    schedule: str | None = Field(default=None, description="cron(...), rate(...) or at(...).")
    triggers: list[Trigger] = Field(default_factory=list)
    gpus: Annotated[int, Field(ge=1, le=16)] | None = Field(
        default=None, description="Physical GPUs reserved for the job (EC2 queues with GPU instances only)."
    )
    share: ShareIdentifier | None = Field(
        default=None,
        description="Share identifier the job's runs are submitted with; required on a fair-share queue, "
        "refused on any other.",
    )
    array_size: ArraySize | None = Field(
        default=None, description="Scheduled and triggered runs are array jobs of this many children (2..10000)."
    )

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is not None:
            seconds = parse_duration(value)
            if seconds < 60:
                raise ValueError(f"{value} is under 60 s, the AWS Batch minimum")
            if seconds > MAX_TIMEOUT_SECONDS:
                raise ValueError(f"{value} is longer than AWS Batch allows ({MAX_TIMEOUT_SECONDS} s)")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            problem = schedule_problem(value)
            if problem is not None:
                raise ValueError(
                    f"{value!r} is not an EventBridge Scheduler expression: {problem} "
                    "(cron(m h dom mon dow year), rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss))"
                )
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> Job:
        both = sorted(set(self.environment) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)} is both in environment and in secrets")
        return self

    @property
    def timeout_seconds(self) -> int | None:
        return None if self.timeout is None else parse_duration(self.timeout)

    def trigger_parameter(self, trigger: S3Trigger) -> str | None:
        """The parameter that receives an S3 trigger's object URL: its own, else ``input`` when declared."""
        return trigger.parameter or ("input" if "input" in self.parameters else None)

"""The platform spec, version 1, as pydantic models.

Field names are the contract of SPEC.md. Every model forbids unknown keys and
is frozen. Checks that concern one object live here as validators; checks that
relate objects to each other (references, shares of fair-share queues, budgets
of names) live in :mod:`batchplane.spec.checks` so that all problems are reported
in one run; whether a job fits its queue's compute is a policy rule (BP-CAP).
The job models are in :mod:`batchplane.spec.jobs`, the base model and the name
type in :mod:`batchplane.spec.base`.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from batchplane import layout
from batchplane.spec.base import Model, Name
from batchplane.spec.jobs import Job, ShareIdentifier
from batchplane.spec.pipelines import Pipeline

AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

ComputeKind = Literal["ec2", "ec2-spot", "fargate", "fargate-spot"]
FARGATE_KINDS: frozenset[str] = frozenset({"fargate", "fargate-spot"})
SPOT_KINDS: frozenset[str] = frozenset({"ec2-spot", "fargate-spot"})

# AWS Batch caps a compute environment at 100000 vCPUs (per-account quotas are lower);
# an environment's budget sums at most a few of them.
MAX_COMPUTE_VCPUS = 100_000
MAX_ENVIRONMENT_VCPUS = 1_000_000

# Tag keys every AWS service accepts (IAM and the tagging API are the strictest): letters,
# digits, spaces and _ . : / = + - @ (unicode letters and digits included), 1..128 characters.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_text(value: str, what: str) -> str:
    bad = sorted({c for c in value if not (c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ")})
    if bad:
        listed = ", ".join(repr(c) for c in bad)
        raise ValueError(
            f"{what} {value!r} has characters AWS refuses in tags ({listed}): use letters, digits, "
            "spaces and _ . : / = + - @"
        )
    return value


def _unreserved_tag_key(key: str) -> str:
    """A tag key of the spec; validated per key so that errors point at its line."""
    if key in RESERVED_TAGS or key.lower().startswith("aws:"):
        raise ValueError(f"{key}: reserved (batchplane sets platform, environment, managed-by)")
    return _tag_text(key, "tag key")


# --- top-level settings -----------------------------------------------------


class S3State(Model):
    """Where the S3 backend keeps state (locking is S3-native, no DynamoDB)."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    key_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+$")] = "batchplane"
    region: Region | None = None


class State(Model):
    """The Terraform backend of every rendered root."""

    backend: Literal["local", "s3"] = "local"
    s3: S3State | None = None

    @model_validator(mode="after")
    def _s3_settings(self) -> State:
        if self.backend == "s3" and self.s3 is None:
            raise ValueError("backend s3 needs an s3 section: {bucket: ..., key_prefix: ...}")
        if self.backend == "local" and self.s3 is not None:
            raise ValueError("an s3 section needs backend: s3")
        return self


class Registry(Model):
    """Where the shared job images are pushed."""

    type: Literal["ecr", "external"] = "ecr"
    url: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$")] | None = None
    account_id: AccountId | None = Field(
        default=None,
        description="ECR only: the account that holds the repositories (default: the first environment's).",
    )

    @model_validator(mode="after")
    def _url_for_external(self) -> Registry:
        if self.type == "external" and self.url is None:
            raise ValueError("an external registry needs url (host[:port][/path])")
        if self.type == "ecr" and self.url is not None:
            raise ValueError("url is only for type: external (ECR URLs are derived)")
        if self.type == "external" and self.account_id is not None:
            raise ValueError("account_id is only for type: ecr")
        return self


# --- environments -----------------------------------------------------------


class Network(Model):
    """A network batchplane creates, or an existing one it reuses."""

    create: bool = False
    cidr: (
        Annotated[
            str,
            StringConstraints(pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"),
        ]
        | None
    ) = None
    availability_zones: Annotated[int, Field(ge=1, le=6)] | None = None
    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-z]+$")] | None = None
    subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-z]+$")]] | None = None
    security_group_ids: list[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-z]+$")]] | None = None
    assign_public_ip: bool = Field(
        default=False,
        description="Fargate jobs get a public IP (only for subnets without a NAT gateway).",
    )

    @model_validator(mode="after")
    def _create_or_reuse(self) -> Network:
        existing = (self.vpc_id, self.subnet_ids, self.security_group_ids)
        if self.create:
            if any(v is not None for v in existing):
                raise ValueError(
                    "create: true takes cidr and availability_zones, not vpc_id/subnet_ids/security_group_ids"
                )
            if self.cidr is None:
                raise ValueError("create: true needs cidr (e.g. 10.10.0.0/16)")
            try:
                ipaddress.ip_network(self.cidr)
            except ValueError as exc:
                raise ValueError(f"cidr {self.cidr}: {exc}") from None
            prefix = int(self.cidr.split("/")[1])
            if not 16 <= prefix <= 24:
                raise ValueError(f"cidr prefix /{prefix} is outside /16../24 (AWS VPC limits, room for subnets)")
        else:
            if self.cidr is not None or self.availability_zones is not None:
                raise ValueError("cidr and availability_zones need create: true")
            if self.vpc_id is None or not self.subnet_ids or not self.security_group_ids:
                raise ValueError(
                    "an existing network needs vpc_id, subnet_ids and security_group_ids (or create: true)"
                )
        return self


DEFAULT_LOG_RETENTION_DAYS = {"development": 30, "production": 365}
"""log_retention_days of an environment that does not set it, per tier."""


def _tier_default(schema: dict[str, Any]) -> None:
    # The default depends on the tier: a fixed "default" in the schema would mislead editors.
    schema.pop("default", None)


class Environment(Model):
    """One deployment target: an account, a tier and a network."""

    account_id: AccountId
    tier: Literal["development", "production"] = "development"
    approval: Literal["required", "none"] | None = Field(
        default=None, description="Default: required for production tiers, none otherwise."
    )
    network: Network
    max_vcpus: Annotated[int, Field(ge=1, le=MAX_ENVIRONMENT_VCPUS)]
    log_retention_days: int = Field(
        default=DEFAULT_LOG_RETENTION_DAYS["development"],
        description="Days job logs and VPC flow logs are kept. Default: 30 for development tiers, 365 for production.",
        json_schema_extra=_tier_default,
    )
    overrides: dict[str, Any] | None = Field(
        default=None,
        description="Deep-merged over compute, queues and jobs for this environment only.",
    )

    @model_validator(mode="before")
    @classmethod
    def _tier_retention(cls, data: Any) -> Any:
        # Unset means the tier's default, filled in here so that everything downstream sees days.
        if isinstance(data, dict) and "log_retention_days" not in data:
            tier = data.get("tier", "development")
            if isinstance(tier, str) and tier in DEFAULT_LOG_RETENTION_DAYS:
                return {**data, "log_retention_days": DEFAULT_LOG_RETENTION_DAYS[tier]}
        return data

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @property
    def needs_approval(self) -> bool:
        """Whether apply/promote into this environment needs explicit approval."""
        if self.approval is None:
            return self.tier == "production"
        return self.approval == "required"


# --- compute and queues -----------------------------------------------------


class Compute(Model):
    """A managed compute environment."""

    kind: ComputeKind
    instance_types: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]] | None = None
    allocation_strategy: (
        Literal[
            "BEST_FIT",
            "BEST_FIT_PROGRESSIVE",
            "SPOT_CAPACITY_OPTIMIZED",
            "SPOT_PRICE_CAPACITY_OPTIMIZED",
        ]
        | None
    ) = None
    max_vcpus: Annotated[int, Field(ge=1, le=MAX_COMPUTE_VCPUS)]
    min_vcpus: Annotated[int, Field(ge=0, le=MAX_COMPUTE_VCPUS)] = 0
    bid_percentage: Annotated[int, Field(ge=1, le=100)] | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> Compute:
        if self.kind in FARGATE_KINDS:
            for field in ("instance_types", "allocation_strategy", "bid_percentage"):
                if getattr(self, field) is not None:
                    raise ValueError(f"{field} does not apply to kind {self.kind}")
            if self.min_vcpus:
                raise ValueError(f"min_vcpus does not apply to kind {self.kind}")
            return self
        if not self.instance_types:
            raise ValueError(f"kind {self.kind} needs instance_types (e.g. [optimal] or [c6i.large])")
        if len(set(self.instance_types)) != len(self.instance_types):
            raise ValueError("instance_types lists a type twice")
        if self.kind == "ec2" and self.bid_percentage is not None:
            raise ValueError("bid_percentage applies to kind ec2-spot only")
        if self.kind == "ec2" and self.allocation_strategy and self.allocation_strategy.startswith("SPOT_"):
            raise ValueError(f"{self.allocation_strategy} is for ec2-spot; on-demand uses BEST_FIT_PROGRESSIVE")
        if self.min_vcpus > self.max_vcpus:
            raise ValueError(f"min_vcpus ({self.min_vcpus}) exceeds max_vcpus ({self.max_vcpus})")
        return self

    @property
    def is_fargate(self) -> bool:
        return self.kind in FARGATE_KINDS

    @property
    def is_spot(self) -> bool:
        return self.kind in SPOT_KINDS


class FairShare(Model):
    """A fair-share scheduling policy for one queue: weights per share identifier."""

    shares: Annotated[
        dict[ShareIdentifier, Annotated[float, Field(gt=0, le=999.9999, allow_inf_nan=False)]],
        Field(min_length=1, max_length=500),
    ] = Field(
        description="Share identifier -> weight: a share with twice the weight gets twice the compute. "
        "Rendered as AWS weight factors (largest weight = 1.0; AWS gives a lower factor more)."
    )
    share_decay_seconds: Annotated[int, Field(ge=0, le=604800)] | None = Field(
        default=None, description="Window over which past usage counts against a share (0..604800 s)."
    )
    compute_reservation: Annotated[int, Field(ge=0, le=99)] | None = Field(
        default=None, description="Percent of the maximum vCPUs kept for share identifiers not yet active."
    )


class Queue(Model):
    """A job queue; `compute` is the fallback order."""

    priority: Annotated[int, Field(ge=0, le=1000)]
    compute: Annotated[list[Name], Field(min_length=1, max_length=3)]
    fair_share: FairShare | None = Field(
        default=None, description="Attaches a fair-share scheduling policy (jobs on the queue then need share)."
    )

    @field_validator("compute")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a compute environment appears twice")
        return value


# --- policy -----------------------------------------------------------------


class PolicySettings(Model):
    """Knobs of the policy gate."""

    max_spot_bid_percentage: Annotated[int, Field(ge=1, le=100)] = 100
    max_waiver_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=90, description="A waiver may not expire later than this many days from today."
    )
    allow_critical_waivers: bool = Field(
        default=False, description="Whether a waiver may accept a critical finding at all."
    )
    min_log_retention_days: Annotated[int, Field(ge=1, le=3653)] = Field(
        default=30, description="BP-OPS-003 fires when an environment keeps logs for fewer days than this."
    )


class Waiver(Model):
    """Accepts one finding, for a reason, until a date."""

    id: Annotated[str, StringConstraints(pattern=r"^(BP-[A-Z]+-[0-9]{3}|CKV2?_[A-Z0-9_]+)$")]
    target: Annotated[str, StringConstraints(min_length=1)]
    reason: Annotated[str, StringConstraints(min_length=3)]
    expires: Annotated[date, Field(strict=False)]


def _root_relative(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in parts):
        raise ValueError("a relative path with '/' separators, no '.', '..' or empty parts")
    if len(parts) < 3 or parts[0] != layout.ENVIRONMENTS_DIR:
        raise ValueError("a file inside a rendered root: environments/<root>/<file>")
    return value


class ExtraFile(Model):
    """A hand-written file allowed inside a rendered root (scanned like the rest)."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_root_relative)]
    reason: Annotated[str, StringConstraints(min_length=3)]


class Policy(Model):
    """Policy gate settings, waivers and the hand-written files allowed in rendered roots."""

    settings: PolicySettings = Field(default_factory=PolicySettings)
    waivers: list[Waiver] = Field(default_factory=list)
    extra_files: list[ExtraFile] = Field(default_factory=list)


# --- the whole platform -----------------------------------------------------


class Platform(Model):
    """The root of platform.yaml."""

    version: Literal[1]
    name: Name
    region: Region
    tags: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_unreserved_tag_key)],
        # Values keep any printable text (EC2 and Batch take it; control characters are refused by the loader).
        Annotated[str, StringConstraints(max_length=256)],
    ] = Field(default_factory=dict)
    state: State = Field(default_factory=State)
    registry: Registry = Field(default_factory=Registry)
    environments: Annotated[dict[Name, Environment], Field(min_length=1)]
    compute: dict[Name, Compute] = Field(default_factory=dict)
    queues: dict[Name, Queue] = Field(default_factory=dict)
    jobs: dict[Name, Job] = Field(default_factory=dict)
    pipelines: dict[Name, Pipeline] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)

    @property
    def registry_account_id(self) -> str:
        """The account that holds the ECR repositories."""
        return self.registry.account_id or next(iter(self.environments.values())).account_id


RESERVED_TAGS = frozenset({"platform", "environment", "managed-by"})
OVERRIDABLE_SECTIONS = ("compute", "queues", "jobs")

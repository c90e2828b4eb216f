"""BP-IAM: the job role's grants, judged with the IAM knowledge base (:mod:`batchplane.policy.iam`).

Breadth and risk (wildcards, every resource, PassRole, unknown actions,
privilege escalation, credentials and resource exposure) are the knowledge
base's risks of the same ids, reported at the spec path of each grant; see
:mod:`batchplane.policy.iam.risks` for what each id means.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchplane.policy.findings import severity_rank
from batchplane.policy.iam.risks import Grant, Risk, judge
from batchplane.policy.rules.context import Check, Context, Rule, RuleFunction, here, job_address
from batchplane.spec.access import IamStatement, job_statements
from batchplane.spec.jobs import Job
from batchplane.spec.locations import Loc

_BROAD_MANAGED_POLICY = re.compile(
    r":iam::aws:policy/(?:.*/)?(AdministratorAccess|PowerUserAccess|IAMFullAccess|[A-Za-z0-9]*FullAccess)\b"
)


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


Judged = tuple[list[tuple[Loc, IamStatement]], list[Risk]]
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
        grants = [Grant(s.effect, s.actions, resources=s.resources) for _, s in located]
        account = ctx.platform.environments[ctx.environment].account_id
        memo[name] = located, judge(grants, ctx.platform.region, account)
    return memo[name]


def _iam_rule(rule_id: str) -> RuleFunction:
    """A rule that reports the knowledge base's ``rule_id`` risks, one check per spec path of an Allow."""

    def check(ctx: Context) -> Iterator[Check]:
        for name, job in ctx.platform.jobs.items():
            located, risks = _judged(ctx, name, job)
            found: dict[int, list[Risk]] = {}
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
            loc = here(ctx, ("jobs", name, "secrets", key))
            if "*" in arn or "?" in arn:
                yield Check(loc, job_address(name), f"{key}: a wildcard secret ARN grants every match")
            else:
                yield Check(loc, job_address(name))


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
)

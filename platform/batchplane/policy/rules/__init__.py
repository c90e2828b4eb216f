"""Spec rules: the policy catalogue judged on each environment's resolved spec.

Every action and resource is known in the spec (unlike in generated Terraform,
where Checkov may give up on an IAM document), so IAM is judged here first.
Rules are plain functions, one module per family of ids (``BP-SPOT-003`` is in
:mod:`.spot`), each listing its own in ``RULES``; nothing registers itself.
"""

from __future__ import annotations

from batchplane.images.lock import ImageLock
from batchplane.policy.findings import Finding, Outcome, Passed, raised
from batchplane.policy.rules import capacity, iam, images, operations, secrets, spot
from batchplane.policy.rules.context import Context, Rule
from batchplane.spec.loader import Spec
from batchplane.spec.locations import dotted

RULES: tuple[Rule, ...] = (
    *iam.RULES,
    *spot.RULES,
    *capacity.RULES,
    *images.RULES,
    *operations.RULES,
    *secrets.RULES,
)
RULE_IDS = frozenset(rule.id for rule in RULES)


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

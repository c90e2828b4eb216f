"""BP-SEC: no secret in plain sight (environment values, commands, parameters, tags), found by detect-secrets."""

from __future__ import annotations

from collections.abc import Iterator

from batchplane.policy import secrets as detector
from batchplane.policy.rules.context import Check, Context, Rule, here, job_address

_SECRET_PLACES = {"environment": "environment variable", "command": "command argument", "parameters": "parameter"}


def _secret_checks(ctx: Context, values: list[detector.Value], advice: str) -> Iterator[Check]:
    """One check per value; a hit names the value's place and the detectors, never the value."""
    hits = {hit.loc: hit.kinds for hit in detector.scan(values)}
    for value in values:
        job = value.loc[0] == "jobs"
        address = job_address(str(value.loc[1])) if job else "module.job"
        kinds = hits.get(value.loc)
        if kinds is None:
            yield Check(here(ctx, value.loc), address)
            continue
        place = _SECRET_PLACES[str(value.loc[2])] if job else "tag"
        key = value.loc[-1]
        where = f"{place} {key}" if isinstance(key, str) else f"{place} [{key}]"
        message = f"{where} looks like a secret to detect-secrets ({', '.join(kinds)}): {advice}"
        yield Check(here(ctx, value.loc), address, message)


def plaintext_secrets(ctx: Context) -> Iterator[Check]:
    values: list[detector.Value] = []
    for name, job in ctx.platform.jobs.items():
        values += detector.mapping_values(("jobs", name, "environment"), job.environment)
    yield from _secret_checks(ctx, values, "move it to secrets (a Secrets Manager or SSM parameter ARN)")


def command_secrets(ctx: Context) -> Iterator[Check]:
    values: list[detector.Value] = []
    for name, job in ctx.platform.jobs.items():
        values += detector.command_values(("jobs", name, "command"), job.command)
        values += detector.mapping_values(("jobs", name, "parameters"), job.parameters)
    advice = "job definitions are readable by anyone who may describe them; pass it in secrets instead"
    yield from _secret_checks(ctx, values, advice)


def tag_secrets(ctx: Context) -> Iterator[Check]:
    values = detector.mapping_values(("tags",), ctx.platform.tags)
    yield from _secret_checks(ctx, values, "tags are readable by anyone who may list resources; remove it")


RULES: tuple[Rule, ...] = (
    Rule("BP-SEC-001", "No secrets in job environment variables", "high", plaintext_secrets, 1),
    Rule("BP-SEC-002", "No secrets in job commands or parameters", "high", command_secrets, 1),
    Rule("BP-SEC-003", "No secrets in tags", "high", tag_secrets, 1),
)

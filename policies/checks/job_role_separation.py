"""CKV_BP_5: a Batch job's own role is never its execution role.

The execution role is what the container agent uses to pull the image, write
the logs and read the secrets; a job that runs as that role holds all of it.
Judged in ``container_properties``, ``node_properties`` (every node range) and
``ecs_properties`` (``taskRoleArn``): no job (task) role anywhere in the
definition is also an execution role there. No job role is fine (a job without
AWS access); ``eks_properties`` names a service account, not roles.

Checkov hands the document over resolved (plan JSON, simple ``jsonencode``) or
as the text of an expression it could not evaluate (``modules/job``'s filtered
object). Resolved ARNs compare case-insensitively (IAM role names are);
references compare as text (``aws_iam_role.job.arn`` is not
``aws_iam_role.execution.arn``). Anything else fails: a literal ARN next to a
reference, unresolved text in which a job role or an execution role cannot be
found, or a document that is unknown until apply (every first plan of
``modules/job``: the role ARNs do not exist yet). The gate leaves a plan
verdict that rests on values known after apply to the HCL scan of the same
root, which reads the references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from batchplane_iam import unresolved, unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

PROPERTIES = ("container_properties", "node_properties", "ecs_properties")
JOB_ROLE_KEYS = ("jobRoleArn", "taskRoleArn")
EXECUTION_ROLE_KEY = "executionRoleArn"

# A role key in an unevaluated expression's text, quoted or not (Checkov prints
# objects Python-style, sometimes with escaped quotes), and its value if that is
# one plain string or reference (followed by a delimiter, so no part of a longer
# expression passes for the whole of it).
_TEXT_ROLE = re.compile(
    r"""(?<![A-Za-z0-9_])(?P<key>jobRoleArn|taskRoleArn|executionRoleArn)\\?["']?\s*[:=]\s*"""
    r"""(?:(?:\\?(?P<quote>["'])(?P<quoted>[^"'\\]*)\\?(?P=quote)|(?P<bare>[A-Za-z_][\w.\-]*(?:\[[^\]"'\\]*\][\w.\-]*)*))"""
    r"""(?=[ \t]*(?:[,})\]\r\n]|$)))?"""
)
# A whole reference (aws_iam_role.job.arn, module.roles.job_arn, var.x[0]), nothing around it.
_PLAIN_REFERENCE = re.compile(r"^[A-Za-z_][\w-]*(\[[^\]]*\])?(\.[A-Za-z_][\w-]*(\[[^\]]*\])?)+$")
_NULLS = ("None", "null")


class JobRoleIsNotExecutionRole(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Batch job definitions do not run the job as its execution role (and can be evaluated)",
            id="CKV_BP_5",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_batch_job_definition"],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        documents = {key: _value(conf, key) for key in PROPERTIES if _value(conf, key) is not None}
        # What the verdict rests on: a plan leaves out values known after apply
        # (null ones it writes), and the gate leaves a verdict on those to the HCL scan.
        self.evaluated_keys = list(documents) or [key for key in PROPERTIES if key not in conf]
        if not documents:
            if _value(conf, "eks_properties") is not None:
                return CheckResult.PASSED
            self.details = [f"none of {', '.join(PROPERTIES)} is known (known after apply?): cannot be evaluated"]
            return CheckResult.FAILED
        problems: list[str] = []
        for key, document in documents.items():
            problems += [f"{key}: {problem}" for problem in _problems(document)]
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


def _value(conf: dict[str, list[Any]], key: str) -> Any:
    """The property's value; None when it is absent (a plan of an update stores unused ones as "")."""
    value = unwrap(conf.get(key))
    if isinstance(value, str) and not value.strip():
        return None
    return None if value in (None, [], [None]) else value


def _problems(document: Any) -> list[str]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return _problems_of_text(document)
    if not isinstance(document, dict):
        return ["cannot be evaluated (not a JSON object)"]
    jobs = [v for k, v in _items(document) if k in JOB_ROLE_KEYS and v is not None]
    executions = [v for k, v in _items(document) if k == EXECUTION_ROLE_KEY and v is not None]
    return _compare(jobs, executions)


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every key and value of a JSON document, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _items(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _items(inner)


def _problems_of_text(text: str) -> list[str]:
    """An expression Checkov could not evaluate: judged only if both roles can be read from it."""
    jobs: list[str] = []
    executions: list[str] = []
    for match in _TEXT_ROLE.finditer(text):
        value = match.group("quoted") if match.group("quote") else match.group("bare")
        if value is None:
            return [f"cannot be evaluated ({match.group('key')} is not a plain value)"]
        if value in _NULLS:
            continue
        (executions if match.group("key") == EXECUTION_ROLE_KEY else jobs).append(value)
    if not jobs or not executions:
        return ["cannot be evaluated (unresolved, and its job role or execution role cannot be read from it)"]
    return _compare(jobs, executions)


def _compare(jobs: list[Any], executions: list[Any]) -> list[str]:
    problems: list[str] = []
    for job in jobs:
        for execution in executions:
            same = _same_role(job, execution)
            if same is None:
                problems.append(f"job role {job!r} and execution role {execution!r} cannot be compared")
            elif same:
                problems.append(f"the job role is the execution role ({execution})")
    return problems


def _same_role(job: Any, execution: Any) -> bool | None:
    """Whether two role ARNs name the same role; None when that cannot be told."""
    if not isinstance(job, str) or not isinstance(execution, str):
        return None
    job, execution = _bare(job), _bare(execution)
    if not unresolved(job) and not unresolved(execution):
        return job.lower() == execution.lower()
    if job == execution:
        return True
    if all(unresolved(v) and _PLAIN_REFERENCE.match(v) for v in (job, execution)):
        return False  # two references: different text is taken as different roles
    return None


def _bare(value: str) -> str:
    """A lone interpolation without its ${...}: "${aws_iam_role.job.arn}" is aws_iam_role.job.arn."""
    value = value.strip()
    if value.startswith("${") and value.endswith("}") and value.count("${") == 1:
        return value[2:-1].strip()
    return value


check = JobRoleIsNotExecutionRole()

"""IAM's wildcard patterns: whether one matches, and whether a resource pattern covers every resource of a type.

A resource type is known by its ARN format (``arn:${Partition}:s3:::${BucketName}``,
from the catalogue). A pattern covers it entirely when it matches every ARN the
format can produce in the environment's partition, region and account (or in
the ones the pattern names).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from batchplane.policy.iam.catalogue import Action, ResourceType

_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# Two sample names per ARN variable, from disjoint alphabets and of different
# lengths: a pattern with any literal character or a fixed count of "?" in a
# variable's place cannot match both, so matching both means "every one".
_SAMPLES = ("zqxvkjwy", "4062")

_ENVIRONMENT_FIELDS = (1, 3, 4)
"""Positions of an ARN's partition, region and account."""


def wild(text: str) -> bool:
    """Whether ``text`` holds an IAM wildcard."""
    return "*" in text or "?" in text


def matches(pattern: str, text: str) -> bool:
    """IAM's wildcards, case-sensitive: ``*`` any run of characters (``:`` and ``/`` included), ``?`` one.

    Not :mod:`fnmatch` (``[`` is literal in IAM) and not a compiled regular
    expression for the common ``*``-only pattern: compiling one per granted
    resource cost more than the rest of a spec-only check's IAM judgement.
    """
    if "?" in pattern:
        return _glob_regex(pattern).fullmatch(text) is not None
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    head, tail = parts[0], parts[-1]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    position, end = len(head), len(text) - len(tail)
    for part in parts[1:-1]:  # leftmost placement of each middle part is always safe for "*"
        found = text.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def _literal_fields(resource: str) -> list[str | None]:
    """The ARN's partition, service, region and account fields when written without wildcards."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return [None] * 6
    return [None if wild(p) else p for p in parts]


@functools.lru_cache(maxsize=65536)
def covers_every(resource: str, arn_format: str, partition: str, region: str, account: str) -> bool:
    """Whether a granted resource pattern matches every resource of the type with ``arn_format``.

    The type's own variables (names, ids) take two unrelated sample values; the
    partition, region and account take the ones the pattern writes literally,
    else the environment's. A type with no variable of its own (one resource
    per account) is never "every": naming it is the only way to grant it.
    """
    fields = arn_format.split(":", 5)
    written = _literal_fields(resource)
    fixed: dict[str, str] = {}
    for position, own in zip(_ENVIRONMENT_FIELDS, (partition, region, account), strict=True):
        if position < len(fields) and (m := _VARIABLE.fullmatch(fields[position])):
            fixed[m.group(1)] = written[position] or own
    if not any(v not in fixed for v in _VARIABLE.findall(arn_format)):
        return False
    if resource.strip("*") == "":
        return True
    if not wild(resource):
        return False  # one literal name cannot be two different resources
    return all(matches(resource, _instance(arn_format, fixed, sample)) for sample in _SAMPLES)


def _instance(arn_format: str, fixed: Mapping[str, str], sample: str) -> str:
    """One ARN of the format: ``fixed`` values where given, ``sample`` for every other variable."""
    return _VARIABLE.sub(lambda m: fixed.get(m.group(1), sample), arn_format)


def covered_types(
    action: Action, resources: Iterable[str], partition: str, region: str, account: str
) -> Iterator[tuple[ResourceType, str]]:
    """Each resource type of ``action`` that one of ``resources`` covers entirely, with the first such pattern."""
    patterns = tuple(resources)
    for rtype in action.resource_types:
        hit = next((r for r in patterns if covers_every(r, rtype.arn, partition, region, account)), None)
        if hit is not None:
            yield rtype, hit


def any_environment(resource: str) -> str:
    """``resource`` with its partition, region and account read as ``*``: judged for every environment at once.

    Module code runs in environments it does not name, so the HCL layer reads
    ``arn:aws:ec2:eu-west-1:111111111111:*/*`` as reaching every resource of
    every account's EC2, images (whose ARNs name no account) included.
    """
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return resource
    for position in _ENVIRONMENT_FIELDS:
        parts[position] = "*"
    return ":".join(parts)

"""AWS Batch's retry decision for a failed attempt: ``attempts`` and ``evaluateOnExit``, as AWS applies them.

A job moves to RUNNABLE at most ``attempts`` times (1 when the job definition
has no retry strategy). After a failed attempt the ``evaluateOnExit`` rules are
read in order and the first one whose every given condition matches decides
(``RETRY`` or ``EXIT``, case-insensitive); when none matches the job is retried.
A condition is AWS's glob: the pattern must equal the whole value, except that a
trailing ``*`` makes it a prefix (``onExitCode`` matches the decimal exit code,
``onReason`` the container's reason, ``onStatusReason`` the job's status reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRY = "RETRY"
EXIT = "EXIT"


@dataclass(frozen=True)
class AttemptOutcome:
    """What a failed attempt left: the container's exit code and reason, the job's status reason."""

    exit_code: int | None
    reason: str | None
    status_reason: str | None


def glob_matches(pattern: str, value: str | None) -> bool:
    """AWS Batch's glob: exact match, or a prefix match when the pattern ends with ``*``."""
    text = "" if value is None else value
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text == pattern


def _rule_matches(rule: Mapping[str, Any], outcome: AttemptOutcome) -> bool:
    exit_code = None if outcome.exit_code is None else str(outcome.exit_code)
    conditions = (
        ("onExitCode", exit_code),
        ("onReason", outcome.reason),
        ("onStatusReason", outcome.status_reason),
    )
    for key, value in conditions:
        pattern = rule.get(key)
        if pattern is None:
            continue
        if key == "onExitCode" and value is None:
            return False
        if not glob_matches(str(pattern), value):
            return False
    return True


def exit_action(rules: list[Mapping[str, Any]], outcome: AttemptOutcome) -> str:
    """``RETRY`` or ``EXIT``: the first rule whose conditions all match decides; none matching retries."""
    for rule in rules:
        if _rule_matches(rule, outcome):
            return EXIT if str(rule.get("action", "")).upper() == EXIT else RETRY
    return RETRY


def max_attempts(retry_strategy: Mapping[str, Any] | None) -> int:
    """How many times a job may move to RUNNABLE: ``attempts``, 1 without a retry strategy."""
    if not retry_strategy or retry_strategy.get("attempts") is None:
        return 1
    return max(1, int(retry_strategy["attempts"]))


def should_retry(retry_strategy: Mapping[str, Any] | None, attempts_made: int, outcome: AttemptOutcome) -> bool:
    """Whether a job that failed its ``attempts_made``-th attempt goes back to RUNNABLE."""
    if attempts_made < 1 or attempts_made >= max_attempts(retry_strategy):
        return False
    rules = list((retry_strategy or {}).get("evaluateOnExit") or [])
    return exit_action(rules, outcome) == RETRY

"""AWS Batch's retry decision as the local AWS applies it (batchplane.local.retries)."""

from __future__ import annotations

import pytest

from batchplane.local.retries import EXIT, RETRY, AttemptOutcome, exit_action, glob_matches, max_attempts, should_retry

EXITED_1 = AttemptOutcome(1, None, "Essential container in task exited")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("1", "1", True),
        ("1", "12", False),
        ("1*", "12", True),
        ("*", None, True),
        ("Host EC2*", "Host EC2 (instance i-1) terminated.", True),
        ("Host EC2*", "Essential container in task exited", False),
        ("AGENT", "AGENT ", False),
    ],
)
def test_glob_is_exact_or_a_prefix_with_a_trailing_star(pattern: str, value: str | None, expected: bool) -> None:
    assert glob_matches(pattern, value) is expected


def test_without_a_retry_strategy_a_job_runs_once() -> None:
    assert max_attempts(None) == 1
    assert not should_retry(None, 1, EXITED_1)
    assert not should_retry({}, 1, EXITED_1)


def test_no_matching_rule_retries_while_attempts_remain() -> None:
    strategy = {"attempts": 3, "evaluateOnExit": [{"onExitCode": "2", "action": "EXIT"}]}
    assert [should_retry(strategy, made, EXITED_1) for made in (1, 2, 3)] == [True, True, False]


def test_attempts_alone_retry_every_failure() -> None:
    assert should_retry({"attempts": 2}, 1, AttemptOutcome(137, None, None))


def test_the_first_matching_rule_wins_and_action_is_case_insensitive() -> None:
    rules = [
        {"onStatusReason": "Host EC2*", "action": "retry"},
        {"onExitCode": "1*", "action": "exit"},
        {"onExitCode": "*", "action": "RETRY"},
    ]
    assert exit_action(rules, EXITED_1) == EXIT
    assert exit_action(rules, AttemptOutcome(1, None, "Host EC2 (instance i-0) terminated.")) == RETRY
    assert exit_action(rules, AttemptOutcome(2, None, None)) == RETRY


def test_every_condition_of_a_rule_must_match() -> None:
    rule = {"onExitCode": "1", "onStatusReason": "Essential*", "action": "EXIT"}
    assert exit_action([rule], EXITED_1) == EXIT
    assert exit_action([rule], AttemptOutcome(1, None, "Task failed to start")) == RETRY
    assert exit_action([{"onReason": "OutOfMemory*", "action": "EXIT"}], EXITED_1) == RETRY


def test_an_exit_code_rule_never_matches_an_attempt_without_exit_code() -> None:
    timed_out = AttemptOutcome(None, None, "Job attempt duration exceeded timeout")
    assert exit_action([{"onExitCode": "*", "action": "EXIT"}], timed_out) == RETRY


def test_an_exit_rule_stops_retries() -> None:
    strategy = {"attempts": 3, "evaluateOnExit": [{"onExitCode": "3*", "action": "EXIT"}]}
    assert not should_retry(strategy, 1, AttemptOutcome(3, None, None))
    assert should_retry(strategy, 1, AttemptOutcome(4, None, None))


def test_a_job_that_never_started_is_not_retried() -> None:
    assert not should_retry({"attempts": 3}, 0, AttemptOutcome(None, None, None))

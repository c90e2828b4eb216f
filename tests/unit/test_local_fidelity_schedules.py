"""When Scheduler expressions fire (batchplane.local.schedules) and the schedule clock (batchplane.local.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from batchplane.local.clock import Clock, scale_from_environment
from batchplane.local.schedules import ExpressionError, next_fire

T0 = datetime(2026, 11, 30, 21, 17, 30, tzinfo=UTC)  # a Monday


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_rate_fires_every_period_from_its_start() -> None:
    assert next_fire("rate(1 minute)", T0, T0) == T0 + timedelta(minutes=1)
    assert next_fire("rate(1 minute)", T0 + timedelta(minutes=1), T0) == T0 + timedelta(minutes=2)
    assert next_fire("rate(2 hours)", T0 + timedelta(minutes=150), T0) == T0 + timedelta(hours=4)
    assert next_fire("rate(1 day)", T0 - timedelta(days=3), T0) == T0 + timedelta(days=1)


def test_at_fires_once() -> None:
    assert next_fire("at(2026-12-01T06:00:00)", T0, T0) == utc(2026, 12, 1, 6, 0)
    assert next_fire("at(2026-12-01T06:00:00)", utc(2026, 12, 1, 6, 0), T0) is None
    assert next_fire("at(2026-12-01T06:00:00)", T0, T0, "Europe/Paris") == utc(2026, 12, 1, 5, 0)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 3 * * ? *)", utc(2026, 12, 1, 3, 0)),
        ("cron(*/15 * * * ? *)", utc(2026, 11, 30, 21, 30)),
        ("cron(0 8 ? * MON-FRI *)", utc(2026, 12, 1, 8, 0)),
        ("cron(0 8 ? * 1 *)", utc(2026, 12, 6, 8, 0)),  # 1 is Sunday
        ("cron(30 22 1 JAN,JUL ? 2027)", utc(2027, 1, 1, 22, 30)),
        ("cron(15,45 21 30 11 ? *)", utc(2026, 11, 30, 21, 45)),
    ],
)
def test_cron_fires_at_the_next_allowed_minute(expression: str, expected: datetime) -> None:
    assert next_fire(expression, T0, T0) == expected


def test_cron_is_read_in_the_schedule_time_zone() -> None:
    assert next_fire("cron(0 3 * * ? *)", T0, T0, "America/New_York") == utc(2026, 12, 1, 8, 0)


def test_cron_with_no_future_match_never_fires() -> None:
    assert next_fire("cron(0 0 1 1 ? 2020)", T0, T0) is None


@pytest.mark.parametrize(
    "expression",
    [
        "every day",
        "rate(1 week)",
        "rate(0 minutes)",
        "cron(0 3 * * *)",
        "cron(0 3 L * ? *)",
        "cron(0 3 ? * 6#3 *)",
        "cron(0 25 * * ? *)",
    ],
)
def test_unreadable_expressions_are_errors(expression: str) -> None:
    with pytest.raises(ExpressionError):
        next_fire(expression, T0, T0)


def test_the_clock_accelerates_and_advances() -> None:
    clock = Clock(scale=60, real=1000.0)
    assert clock.now(real=1001.0) == datetime.fromtimestamp(1060.0, UTC)
    clock.set_scale(1, real=1001.0)
    assert clock.now(real=1002.0) == datetime.fromtimestamp(1061.0, UTC)
    clock.advance(3600)
    assert clock.now(real=1002.0) == datetime.fromtimestamp(4661.0, UTC)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_the_scale_comes_from_the_environment() -> None:
    assert scale_from_environment({}) == 1.0
    assert scale_from_environment({"BATCHPLANE_LOCAL_TIME_SCALE": "60"}) == 60.0
    for bad in ("0", "-2", "fast"):
        with pytest.raises(ValueError, match="BATCHPLANE_LOCAL_TIME_SCALE"):
            scale_from_environment({"BATCHPLANE_LOCAL_TIME_SCALE": bad})


def test_a_time_limit_acts_once_its_state_lasted_long_enough() -> None:
    from batchplane.local.queue_fidelity import expired_action

    limit = {"reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "state": "RUNNABLE", "maxTimeSeconds": 600}
    actions = [{**limit, "action": "CANCEL"}]
    assert expired_action(actions, "RUNNABLE", T0, T0 + timedelta(seconds=599)) is None
    assert expired_action(actions, "RUNNABLE", T0, T0 + timedelta(seconds=600)) == actions[0]
    assert expired_action(actions, "RUNNING", T0, T0 + timedelta(hours=1)) is None
    assert expired_action(actions, "RUNNABLE", None, T0) is None
    assert expired_action([{**limit, "action": "TERMINATE"}], "RUNNABLE", T0, T0 + timedelta(hours=1)) is None

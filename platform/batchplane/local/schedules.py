"""When an EventBridge Scheduler expression fires next: ``at(...)``, ``rate(...)`` and ``cron(...)``.

AWS's forms: ``at(yyyy-mm-ddThh:mm:ss)`` fires once; ``rate(N minute|minutes|hour|
hours|day|days)`` every N units from its start; ``cron(minutes hours day-of-month
month day-of-week year)`` with ``*``, ``?``, lists, ranges, ``/`` steps, month
and weekday names, and day-of-week 1-7 = SUN-SAT. Times are read in the
schedule's time zone; the fields' ranges and names are the spec grammar's
(:data:`batchplane.spec.schedule.CRON_FIELDS`). ``L``, ``W`` and ``#`` are not supported here (the local
AWS says so in its log and does not fire such a schedule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from batchplane.spec.schedule import CRON_FIELDS, CronField

UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
HORIZON_DAYS = 366 * 5


class ExpressionError(ValueError):
    """A schedule expression this emulator cannot read."""


@dataclass(frozen=True)
class Cron:
    """An AWS cron expression as the sets of values each field allows (None: any)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None
    years: frozenset[int]

    def matches_day(self, day: datetime) -> bool:
        weekday = day.isoweekday() % 7 + 1  # SUN=1 .. SAT=7
        return (
            day.year in self.years
            and day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )


def _value(text: str, field: CronField) -> int:
    try:
        return field.value(text)
    except ValueError as error:
        raise ExpressionError(f"{error} (L, W and # are not supported locally)") from None


def _field(text: str, field: CronField) -> frozenset[int] | None:
    if text == "?":
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        low, high = field.low, field.high
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, field), _value(last, field)
        else:
            start = _value(base, field)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ExpressionError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(body: str) -> Cron:
    """The six fields of ``cron(...)``'s body."""
    parts = body.split()
    if len(parts) != 6:
        raise ExpressionError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year): {body!r}")
    fields = [_field(text, field) for text, field in zip(parts, CRON_FIELDS, strict=True)]
    minutes, hours, days, months, weekdays, years = fields
    if minutes is None or hours is None or months is None or years is None:
        raise ExpressionError(f"'?' is only allowed in day-of-month or day-of-week: {body!r}")
    return Cron(minutes, hours, days, months, weekdays, years)


def next_cron(cron: Cron, after: datetime) -> datetime | None:
    """The first minute strictly after ``after`` (an aware datetime) that ``cron`` allows, in ``after``'s zone."""
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(HORIZON_DAYS):
        if cron.matches_day(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate >= start:
                        return candidate
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
    return None


def next_fire(expression: str, after: datetime, start: datetime, timezone: str = "UTC") -> datetime | None:
    """When ``expression`` fires next strictly after ``after`` (UTC-aware datetimes); None: never again.

    ``start`` anchors rate expressions (the schedule's start date or creation time).
    """
    zone = ZoneInfo(timezone or "UTC")
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", expression.strip())
    if match is None:
        raise ExpressionError(f"not an at(), rate() or cron() expression: {expression!r}")
    kind, body = match.groups()
    if kind == "at":
        try:
            when = datetime.fromisoformat(body).replace(tzinfo=zone)
        except ValueError as error:
            raise ExpressionError(f"at() needs yyyy-mm-ddThh:mm:ss: {body!r}") from error
        return when if when > after else None
    if kind == "rate":
        rate = re.fullmatch(r"(\d+)\s+(\w+)", body.strip())
        if rate is None or rate.group(2) not in UNITS or int(rate.group(1)) < 1:
            raise ExpressionError(f"rate() needs 'N minute(s)|hour(s)|day(s)': {body!r}")
        period = timedelta(seconds=int(rate.group(1)) * UNITS[rate.group(2)])
        if after < start:
            return start + period
        return start + period * ((after - start) // period + 1)
    found = next_cron(parse_cron(body), after.astimezone(zone))
    return None if found is None else found.astimezone(ZoneInfo("UTC"))

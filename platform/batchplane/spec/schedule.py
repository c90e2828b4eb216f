"""EventBridge Scheduler expressions: ``rate(...)``, ``cron(...)`` and ``at(...)``.

No maintained Python library parses AWS's cron dialect (croniter and friends
read Unix cron: five fields, no ``?``, and ``L``/``W``/``#`` differently), so this
is a small grammar following the EventBridge reference:

* ``rate(N unit)``: N >= 1, ``minute``/``hour``/``day`` for 1 and the plural otherwise.
* ``cron(minutes hours day-of-month month day-of-week year)``: six fields; exactly
  one of day-of-month and day-of-week is ``?``; each field is ``*``, or a list of
  values, ranges ``a-b`` and steps ``x/n``, within the field's range; months may
  be JAN-DEC and days of the week SUN-SAT (1 = SUN); day-of-month also takes
  ``L``, ``LW`` and ``NW``; day-of-week ``L``, ``NL`` and ``N#k`` (k 1..5).
* ``at(yyyy-mm-ddThh:mm:ss)``: a real date and time.

Expressions are matched as whole strings: a trailing newline is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_RATE = re.compile(r"rate\(([0-9]+) ([a-z]+)\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")
_RATE_UNITS = ("minute", "hour", "day")

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, text: str) -> int:
        """One value of this field (a number or a name); ValueError naming the problem."""
        if text.upper() in self.names:
            return self.names.index(text.upper()) + self.low
        if not text.isascii() or not text.isdigit():
            raise ValueError(f"{self.name}: {text!r} is not a number{self._named()}")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number

    def _named(self) -> str:
        return f" or one of {self.names[0]}-{self.names[-1]}" if self.names else ""


CRON_FIELDS: tuple[CronField, ...] = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, WEEKDAYS),
    CronField("year", 1970, 2199),
)
_DAY_OF_MONTH, _DAY_OF_WEEK = CRON_FIELDS[2], CRON_FIELDS[4]


def schedule_problem(expression: str) -> str | None:
    """What is wrong with a Scheduler expression, or None when AWS accepts it."""
    try:
        if expression.startswith("rate("):
            _check_rate(expression)
        elif expression.startswith("cron("):
            _check_cron(expression)
        elif expression.startswith("at("):
            _check_at(expression)
        else:
            return "it starts with neither cron(, rate( nor at("
    except ValueError as exc:
        return str(exc)
    return None


def _check_rate(expression: str) -> None:
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ValueError("rate takes one number and a unit separated by one space, e.g. rate(5 minutes)")
    number, unit = int(match[1]), match[2]
    if number < 1:
        raise ValueError("a rate must be at least 1")
    expected = _RATE_UNITS if number == 1 else tuple(u + "s" for u in _RATE_UNITS)
    if unit not in expected:
        raise ValueError(f"with {number} the unit is one of {', '.join(expected)}")


def _check_at(expression: str) -> None:
    match = _AT.fullmatch(expression)
    if match is None:
        raise ValueError("at takes yyyy-mm-ddThh:mm:ss")
    try:
        dt.datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"{match[1]} is not a real date and time") from None


def _check_cron(expression: str) -> None:
    match = _CRON.fullmatch(expression)
    if match is None:
        raise ValueError("cron(...) must end with ')'")
    body = match[1]
    fields = body.split(" ")
    if len(fields) != 6 or any(not f for f in fields):
        raise ValueError(
            "cron takes six fields separated by single spaces: minutes hours day-of-month month day-of-week year"
        )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
    for spec, text in zip(CRON_FIELDS, fields, strict=True):
        if text == "?" and spec in (_DAY_OF_MONTH, _DAY_OF_WEEK):
            continue
        if spec is _DAY_OF_MONTH and _special_day_of_month(text):
            continue
        if spec is _DAY_OF_WEEK and _special_day_of_week(text):
            continue
        for item in text.split(","):
            _check_item(spec, item)


def _check_item(spec: CronField, item: str) -> None:
    """``*``, ``*/n``, ``v``, ``v/n``, ``a-b`` or ``a-b/n``."""
    base, slash, step = item.partition("/")
    if slash:
        if not step.isascii() or not step.isdigit() or int(step) < 1:
            raise ValueError(f"{spec.name}: step {step!r} in {item!r} is not a whole number of at least 1")
        if int(step) > spec.high - spec.low + 1:
            raise ValueError(f"{spec.name}: step {step} in {item!r} is larger than the field's range")
    if base == "*":
        return
    low, dash, high = base.partition("-")
    spec.value(low)
    if dash:
        spec.value(high)


def _special_day_of_month(text: str) -> bool:
    """``L`` (last day), ``LW`` (last weekday) or ``NW`` (weekday nearest day N)."""
    if text in ("L", "LW"):
        return True
    if text.endswith("W"):
        _DAY_OF_MONTH.value(text[:-1])
        return True
    if "L" in text or "W" in text:
        raise ValueError(f"day-of-month: {text!r}: L and W stand alone (L, LW, or a day then W such as 15W)")
    return False


def _special_day_of_week(text: str) -> bool:
    """``L`` (last day of the week), ``NL`` (last weekday N of the month) or ``N#k`` (k-th weekday N)."""
    if text == "L":
        return True
    if "#" in text:
        day, _, nth = text.partition("#")
        _DAY_OF_WEEK.value(day)
        if nth not in ("1", "2", "3", "4", "5"):
            raise ValueError(f"day-of-week: {text!r}: the number after # is 1-5")
        return True
    if text.endswith("L") and text.upper() not in WEEKDAYS:
        _DAY_OF_WEEK.value(text[:-1])
        return True
    return False

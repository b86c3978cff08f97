"""Date arithmetic for the conventions C1-C8: calendar periods, clamped months, local-date bucketing."""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

LONDON = ZoneInfo("Europe/London")
ONE_DAY = dt.timedelta(days=1)

PERIOD_KINDS = ("month", "quarter", "inspection-year", "year")


@lru_cache(maxsize=65536)  # pure, and a network shares its dates: relativedelta is slow
def add_months(d: dt.date, months: int) -> dt.date:
    """C5/C7: the corresponding date N calendar months later (or earlier), clamped to month end."""
    result: dt.date = d + relativedelta(months=months)
    return result


@lru_cache(maxsize=65536)
def add_years(d: dt.date, years: int) -> dt.date:
    """Grant + N years, clamped (29 February 2024 + 3 years = 28 February 2027)."""
    result: dt.date = d + relativedelta(years=years)
    return result


def clamped(base: dt.date, months: int) -> bool:
    """True when adding ``months`` to ``base`` had to clamp to the month's last day."""
    return add_months(base, months).day != base.day


def local_date(value: dt.date | dt.datetime) -> dt.date:
    """The date an event counts on: its local date in Europe/London.

    A date is taken as it is; a naive datetime is London wall-clock time; an aware datetime is
    converted (23:30 UTC on 31 March 2026 is 00:30 BST on 1 April 2026).
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(LONDON).date()
    return value


def to_utc(value: dt.datetime) -> dt.datetime:
    """An instant in UTC; a naive datetime is read as Europe/London wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar period that must contain an event: its key (used in occurrence ids) and bounds."""

    kind: str
    key: str
    start: dt.date
    end: dt.date  # inclusive: the due date (C1)


@lru_cache(maxsize=8192)
def period_of(d: dt.date, kind: str) -> Period:
    """The period of ``kind`` that contains ``d`` (cached: homes share their periods)."""
    if kind == "month":
        last = monthrange(d.year, d.month)[1]
        return Period(kind, f"{d.year:04d}-{d.month:02d}", d.replace(day=1), d.replace(day=last))
    if kind == "quarter":
        q = (d.month - 1) // 3
        end_month = 3 * q + 3
        end = dt.date(d.year, end_month, monthrange(d.year, end_month)[1])
        return Period(kind, f"{d.year:04d}-Q{q + 1}", dt.date(d.year, 3 * q + 1, 1), end)
    if kind == "inspection-year":
        # 1 April to 31 March; keyed by its two years, e.g. "2026-27".
        y = d.year if d.month >= 4 else d.year - 1
        return Period(kind, f"{y:04d}-{(y + 1) % 100:02d}", dt.date(y, 4, 1), dt.date(y + 1, 3, 31))
    if kind == "year":
        return Period(kind, f"{d.year:04d}", dt.date(d.year, 1, 1), dt.date(d.year, 12, 31))
    raise ValueError(f"unknown period kind {kind!r}")


def period_from_key(kind: str, key: str) -> Period:
    """The period whose key is ``key`` (inverse of :func:`period_of`); ValueError if malformed."""
    if kind == "month":
        y, m = key.split("-")
        return period_of(dt.date(int(y), int(m), 1), kind)
    if kind == "quarter":
        y, q = key.split("-Q")
        return period_of(dt.date(int(y), 3 * (int(q) - 1) + 1, 1), kind)
    if kind == "inspection-year":
        y, y2 = key.split("-")
        if len(y2) != 2 or (int(y) + 1) % 100 != int(y2):
            raise ValueError(key)
        return period_of(dt.date(int(y), 4, 1), kind)
    if kind == "year":
        return period_of(dt.date(int(key), 1, 1), kind)
    raise ValueError(f"unknown period kind {kind!r}")


def next_period(p: Period) -> Period:
    return period_of(p.end + ONE_DAY, p.kind)


def period_key(start: dt.date, kind: str) -> str:
    """The key of the period that starts on ``start`` (cheaper than building the Period)."""
    if kind == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if kind == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if kind == "inspection-year":
        y = start.year if start.month >= 4 else start.year - 1
        return f"{y:04d}-{(y + 1) % 100:02d}"
    return f"{start.year:04d}"


@lru_cache(maxsize=16384)
def period_key_iso(iso: str, kind: str) -> str:
    """The key of the period containing the ISO date ``iso`` ("2026-11-22"), without parsing it."""
    if kind == "month":
        return iso[:7]
    if kind == "year":
        return iso[:4]
    y, m = int(iso[:4]), int(iso[5:7])
    if kind == "quarter":
        return f"{y:04d}-Q{(m - 1) // 3 + 1}"
    if m < 4:
        y -= 1
    return f"{y:04d}-{(y + 1) % 100:02d}"


_STEP = {"month": 1, "quarter": 3, "inspection-year": 12, "year": 12}


def period_starts(first: Period, last: Period) -> list[dt.date]:
    """The first days of every period from ``first`` to ``last`` inclusive (integer month steps)."""
    step = _STEP[first.kind]
    i = first.start.year * 12 + first.start.month - 1
    end = last.start.year * 12 + last.start.month - 1
    out = []
    while i <= end:
        out.append(dt.date(i // 12, i % 12 + 1, 1))
        i += step
    return out


def count_periods(first: Period, last: Period) -> int:
    """How many periods of one kind lie from ``first`` to ``last`` inclusive."""
    if last.start < first.start:
        return 0
    months = (last.start.year - first.start.year) * 12 + last.start.month - first.start.month
    step = {"month": 1, "quarter": 3, "inspection-year": 12, "year": 12}[first.kind]
    return months // step + 1


def is_iso_form(text: str) -> bool:
    """Whether ``text`` is written YYYY-MM-DD (date.fromisoformat also takes 20261122 and ISO
    week dates such as 2026-W01-1, which is 2025-12-29: too easy to get a wrong date from)."""
    return (
        len(text) == 10
        and text[4] == text[7] == "-"
        and (text[:4] + text[5:7] + text[8:]).isdigit()
    )


def parse_date(text: str) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD); ValueError with a readable message otherwise."""
    t = text.strip()
    try:
        if is_iso_form(t):
            return dt.date.fromisoformat(t)
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def parse_datetime(text: str) -> dt.datetime:
    """Parse a date-time typed by a user (pendulum: ISO 8601 with or without ``T``, offset or Z).

    A naive value is Europe/London wall-clock time. A wall-clock time that does not exist (the
    hour skipped when the clocks go forward) or happens twice (when they go back) is refused
    rather than guessed (C6): the user adds an offset.
    """
    import pendulum

    try:
        parsed = pendulum.parse(text.strip(), tz=None, exact=True)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if not isinstance(parsed, dt.datetime):
        raise ValueError(
            f"{text!r} is not a date-time (expected YYYY-MM-DDTHH:MM, optionally with +01:00 or Z)"
        )
    value = dt.datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=None if parsed.tzinfo is None else dt.timezone(parsed.utcoffset() or dt.timedelta()),
    )
    check_wall_clock(value, text)
    return value


def check_wall_clock(value: dt.datetime, text: str | None = None) -> None:
    """C6: a naive (Europe/London wall-clock) time that does not exist (the hour skipped when
    the clocks go forward) or happens twice (when they go back) is refused rather than guessed;
    ValueError says to give the offset. An aware value is always fine."""
    if value.tzinfo is not None:
        return
    shown = repr(text) if text is not None else value.isoformat()
    early = value.replace(tzinfo=LONDON, fold=0)
    late = value.replace(tzinfo=LONDON, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(dt.UTC).astimezone(LONDON).replace(tzinfo=None)
        if back != value:
            raise ValueError(
                f"{shown} does not exist in Europe/London (the clocks go forward that night); "
                "give the time with its offset, e.g. +00:00"
            )
        raise ValueError(
            f"{shown} happens twice in Europe/London (the clocks go back that night); "
            "add +01:00 (BST, the first) or +00:00 (GMT, the second)"
        )

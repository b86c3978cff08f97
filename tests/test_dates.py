"""Date conventions: clamped months (C5, C7), periods, local-date bucketing."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.dates import (
    add_months,
    add_years,
    count_periods,
    local_date,
    period_from_key,
    period_of,
)

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-08-31", 6, "2026-02-28"),  # C5: 31 August + 6 months = 28 February
        ("2023-08-31", 6, "2024-02-29"),  # leap year
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-03-31", -1, "2026-02-28"),  # C7: one month before, clamped
        ("2026-05-15", 6, "2026-11-15"),  # the corresponding date
        ("2026-11-30", 3, "2027-02-28"),
    ],
)
def test_add_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


def test_leap_day_plus_three_years_is_28_february() -> None:
    assert add_years(D("2024-02-29"), 3) == D("2027-02-28")
    assert add_years(D("2024-02-29"), 4) == D("2028-02-29")


@pytest.mark.parametrize(
    ("day", "kind", "key", "start", "end"),
    [
        ("2026-11-22", "month", "2026-11", "2026-11-01", "2026-11-30"),
        ("2024-02-10", "month", "2024-02", "2024-02-01", "2024-02-29"),
        ("2026-11-22", "quarter", "2026-Q4", "2026-10-01", "2026-12-31"),
        ("2026-03-31", "inspection-year", "2025-26", "2025-04-01", "2026-03-31"),
        ("2026-04-01", "inspection-year", "2026-27", "2026-04-01", "2027-03-31"),
        ("1999-06-01", "inspection-year", "1999-00", "1999-04-01", "2000-03-31"),
        ("2026-07-01", "year", "2026", "2026-01-01", "2026-12-31"),
    ],
)
def test_periods(day: str, kind: str, key: str, start: str, end: str) -> None:
    p = period_of(D(day), kind)
    assert (p.key, p.start, p.end) == (key, D(start), D(end))
    assert period_from_key(kind, key) == p


def test_count_periods() -> None:
    assert (
        count_periods(period_of(D("2025-11-05"), "month"), period_of(D("2026-02-01"), "month")) == 4
    )
    assert (
        count_periods(period_of(D("2026-02-05"), "month"), period_of(D("2025-02-01"), "month")) == 0
    )
    assert (
        count_periods(
            period_of(D("2024-05-01"), "inspection-year"),
            period_of(D("2026-04-01"), "inspection-year"),
        )
        == 3
    )


def test_local_date_buckets_by_london_time() -> None:
    # 23:30 UTC on 31 March 2026 is 00:30 BST on 1 April 2026: a new inspection year
    assert local_date(dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)) == D("2026-04-01")
    # in winter London is on UTC
    assert local_date(dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)) == D("2026-01-31")
    # an offset elsewhere is converted
    assert local_date(dt.datetime.fromisoformat("2026-10-31T23:30:00-05:00")) == D("2026-11-01")
    # a naive datetime is London wall-clock time
    assert local_date(dt.datetime(2026, 10, 25, 1, 30)) == D("2026-10-25")
    assert local_date(D("2026-02-28")) == D("2026-02-28")


def test_user_datetimes_parse_with_pendulum_and_refuse_clock_change_guesses() -> None:
    from compliance.dates import parse_datetime

    assert parse_datetime("2026-11-14 09:30") == dt.datetime(2026, 11, 14, 9, 30)
    assert parse_datetime("2026-11-14T09:30Z") == dt.datetime(2026, 11, 14, 9, 30, tzinfo=dt.UTC)
    bst = parse_datetime("2026-10-25T01:30+01:00")
    assert bst.utcoffset() == dt.timedelta(hours=1)
    with pytest.raises(ValueError, match="does not exist"):
        parse_datetime("2026-03-29T01:30")  # skipped when the clocks go forward
    with pytest.raises(ValueError, match="happens twice"):
        parse_datetime("2026-10-25T01:30")  # repeated when they go back
    for bad in ("2026-11-14", "tomorrow", "2026-02-30T10:00"):
        with pytest.raises(ValueError, match="not a date-time"):
            parse_datetime(bad)


def test_record_at_an_ambiguous_time_is_a_one_line_error(cli) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    small = Path(__file__).parent / "data" / "small.toml"
    assert cli("load", str(small)).code == 0
    homes = cli("homes", "--format", "json").json()["items"]
    r = cli(
        "record", homes[0]["id"], "reg44-visit", "--at", "2026-10-25T01:30", "--as-of", "2026-11-01"
    )
    assert r.code == 2 and "happens twice" in r.err and "Traceback" not in r.err


def test_dates_are_written_yyyy_mm_dd_only() -> None:
    """date.fromisoformat also takes 20261115 and ISO week dates (2026-W01-1 is 2025-12-29): a
    date typed in one of those forms is refused, not read as another day."""
    from compliance.dates import parse_date

    assert parse_date(" 2026-11-15 ") == dt.date(2026, 11, 15)
    for text in ("20261115", "2026-W01-1", "2026-W46-7", "2026-1-5", "2026-02-30", ""):
        with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
            parse_date(text)

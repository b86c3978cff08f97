"""Property tests of the scheduler over arbitrary histories (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import engine
from compliance.dates import add_months, period_of
from compliance.engine import Query
from compliance.model import Event, History, Home
from compliance.rules import builtin

CAT = builtin()
START = dt.date(2023, 1, 1)
dates = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 12, 31))


def _hist(rule: str, days: list[dt.date]) -> History:
    return History.of([Event(f"e{i}", "h", rule, d) for i, d in enumerate(days)])


@settings(max_examples=150, deadline=None)
@given(visits=st.lists(dates, max_size=40), since=dates, as_of=dates)
def test_every_unvisited_month_is_overdue_exactly_once(
    visits: list[dt.date], since: dt.date, as_of: dt.date
) -> None:
    home = Home("h", "H", "england", since=since)
    rule = CAT.rules["reg44-visit"]
    seen = [d for d in visits if d <= as_of]
    q = Query(as_of, as_of)
    occs = engine.compute(home, rule, _hist(rule.key, seen), q, since=since)
    overdue = [o.period for o in occs if o.status == "overdue"]
    expected = []
    p = period_of(since, "month")
    while p.end < as_of:
        if not any(p.start <= d <= p.end for d in seen):
            expected.append(p.key)
        p = period_of(p.end + dt.timedelta(days=1), "month")
    assert overdue == expected
    assert len(set(overdue)) == len(overdue)


@settings(max_examples=150, deadline=None)
@given(
    visits=st.lists(dates, max_size=30),
    since=dates,
    as_of=dates,
    rule=st.sampled_from(
        ["reg44-visit", "reg45-review", "ofsted-full", "yjb-review", "licence-renewal"]
    ),
)
def test_ids_unique_stable_and_fast_path_agrees(
    visits: list[dt.date], since: dt.date, as_of: dt.date, rule: str
) -> None:
    home = Home("h", "H", "england", yjb=True, since=since)
    r = CAT.rules[rule]
    hist = _hist(rule, [d for d in visits if d <= as_of])
    until = as_of + dt.timedelta(days=45)
    full = engine.compute(home, r, hist, Query(as_of, until, closed=True), since=since)
    again = engine.compute(home, r, hist, Query(as_of, until, closed=True), since=since)
    fast = engine.compute(home, r, hist, Query(as_of, until), since=since)
    ids = [o.id for o in full]
    assert len(ids) == len(set(ids))
    assert ids == [o.id for o in again]
    for o in full:
        assert o.id == f"h/{rule}/{o.period}"
    want = [(o.id, o.due, o.status) for o in full if o.is_open and o.due <= until]
    assert [(o.id, o.due, o.status) for o in fast if o.due <= until] == want


@settings(max_examples=200, deadline=None)
@given(d=dates, n=st.integers(min_value=1, max_value=36))
def test_gap_due_is_corresponding_date_or_month_end(d: dt.date, n: int) -> None:
    due = add_months(d, n)
    months = (due.year - d.year) * 12 + due.month - d.month
    assert months == n
    nxt = due + dt.timedelta(days=1)
    assert due.day == d.day or (due.day < d.day and nxt.month != due.month)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    visits=st.lists(
        st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 11, 21)),
        max_size=12,
        unique=True,
    )
)
def test_export_then_load_gives_identical_due(cli, tmp_path: Path, visits: list[dt.date]) -> None:  # type: ignore[no-untyped-def]
    import uuid

    base = tmp_path / uuid.uuid4().hex
    base.mkdir()
    fx = base / "f.toml"
    lines = [
        "schema = 1",
        "[[homes]]",
        'id = "h"',
        'name = "H"',
        'nation = "england"',
        "since = 2026-01-01",
    ]
    for d in visits:
        lines += ["[[events]]", 'home = "h"', 'rule = "reg44-visit"', f"date = {d.isoformat()}"]
    fx.write_text("\n".join(lines) + "\n", encoding="utf-8")
    a, b = base / "a.db", base / "b.db"
    assert cli("load", str(fx), db_path=a).code == 0
    assert cli("export", "--output", str(base / "x.toml"), db_path=a).code == 0
    assert cli("load", str(base / "x.toml"), db_path=b).code == 0
    args = ("due", "--as-of", "2026-11-22", "--days", "60", "--format", "json")
    assert cli(*args, db_path=a).out == cli(*args, db_path=b).out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=st.sampled_from(["reg44-visit", "reg45-review", "reg45-report", "ofsted-full"]),
    offsets=st.lists(st.integers(min_value=0, max_value=900), max_size=25),
    start_offset=st.integers(min_value=0, max_value=1000),
)
def test_a_start_bound_only_hides_occurrences_never_moves_them(
    rule: str, offsets: list[int], start_offset: int
) -> None:
    """Query.start (the calendar's year, a feed's look-back, check's explanations) leaves out
    exactly the occurrences settled before it (due and closed before it), never moving or
    changing the others, nor how they are explained."""
    since = dt.date(2024, 1, 1)
    as_of = dt.date(2026, 11, 22)
    cat = builtin()
    r = cat.rules[rule]
    days = sorted({since + dt.timedelta(days=o) for o in offsets})
    own = [Event(f"e{i}", "h", rule, d) for i, d in enumerate(days)]
    trig = History.of([Event(f"t{i}", "h", "reg45-review", d) for i, d in enumerate(days[::2])])
    h = Home("h", "Test", "england")
    start = since + dt.timedelta(days=start_offset)

    def occ(q: Query) -> list[tuple[str, str, dt.date | None, tuple[str, ...]]]:
        out = engine.compute(h, r, History.of(own), q, since=since, trigger=trig)
        return [(o.id, o.status, o.done_on, o.steps) for o in out]

    until = dt.date(2027, 3, 31)
    for explain in (False, True):
        full = engine.compute(
            h,
            r,
            History.of(own),
            Query(as_of, until, closed=True, explain=explain),
            since=since,
            trigger=trig,
        )
        expected = [
            (o.id, o.status, o.done_on, o.steps)
            for o in full
            if o.is_open or o.due >= start or (o.done_on is not None and o.done_on >= start)
        ]
        assert occ(Query(as_of, until, closed=True, explain=explain, start=start)) == expected


def _month_keys(first: tuple[int, int], last: tuple[int, int]) -> list[str]:
    out, (y, m) = [], first
    while (y, m) <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


MONTHS = _month_keys((2014, 1), (2027, 12))


@settings(max_examples=500, deadline=None)
@given(
    present=st.sets(st.sampled_from(MONTHS)),
    a=st.integers(min_value=0, max_value=len(MONTHS) - 1),
    width=st.integers(min_value=0, max_value=60),
    most=st.integers(min_value=0, max_value=10),
)
def test_gaps_found_on_the_summary_string_are_the_missing_months(
    present: set[str], a: int, width: int, most: int
) -> None:
    keys = MONTHS[a : a + width + 1]
    got = History("", ",".join(sorted(present))).missing_months(keys, most)
    want = [k for k in keys if k not in present]
    if got is None:
        assert len(want) > most
    else:
        assert got == want

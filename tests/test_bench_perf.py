"""The speed-ups of the `due` path answer exactly what the plain computations answer.

Timings live in bench/run.py; these tests only pin behaviour: the waiver lookup through the
target index, the per-period fast path of the engine, and the benchmark's history generator.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.dates import count_periods, period_key_iso, period_of
from compliance.engine import Waiver, _covers
from compliance.store import NOT_SUPERSEDED, open_store

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _old_waivers(store, homes=None):  # type: ignore[no-untyped-def]
    """The query the store used before it read candidate targets from the index."""
    rows = store.conn.execute(
        f"SELECT id, home, target, notes, date FROM events e WHERE target IS NOT NULL AND kind = 'waiver' AND {NOT_SUPERSEDED} ORDER BY seq"
    ).fetchall()
    return {
        r["target"]: Waiver(r["notes"] or "", dt.date.fromisoformat(r["date"]), r["id"])
        for r in rows
        if homes is None or r["home"] in homes
    }


def test_waivers_match_the_plain_query(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("demo", "--as-of", "2026-11-22").code == 0
    due = cli("overdue", "--as-of", "2026-11-22", "--format", "json").json()["items"]
    targets = [i["id"] for i in due if i["rule"] != "action"][:3]
    assert targets
    for n, oid in enumerate(targets):
        r = cli("waive", oid, "--reason", f"reason {n}", "--as-of", "2026-11-22")
        assert r.code == 0, r.err
    # a second waiver of one occurrence is refused; a closed action is a targeted event too
    actions = cli("action", "list", "--as-of", "2026-11-22", "--format", "json").json()["items"]
    assert cli("action", "done", actions[0]["id"], "--as-of", "2026-11-22").code == 0
    store = open_store(db, create=False)
    try:
        got = store.waivers()
        assert set(got) >= set(targets)
        assert got == _old_waivers(store)
        home = targets[0].split("/")[0]
        assert store.waivers({home}) == _old_waivers(store, {home})
    finally:
        store.close()


DAYS = st.dates(dt.date(2015, 1, 1), dt.date(2027, 12, 31))


@settings(max_examples=300, deadline=None)
@given(
    dates=st.lists(DAYS, max_size=30),
    kind=st.sampled_from(["inspection-year", "quarter", "year", "month"]),
    a=DAYS,
    b=DAYS,
)
def test_covers_agrees_with_counting_period_keys(
    dates: list[dt.date], kind: str, a: dt.date, b: dt.date
) -> None:
    first, last = period_of(min(a, b), kind), period_of(max(a, b), kind)
    iso = tuple(sorted({d.isoformat() for d in dates}))
    keys = sorted({period_key_iso(d, kind) for d in iso})
    from bisect import bisect_left, bisect_right

    covered = bisect_right(keys, last.key) - bisect_left(keys, first.key)
    assert _covers(iso, kind, first.start, last.start) == (covered >= count_periods(first, last))


def test_history_for_matches_generate() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import gen
    finally:
        sys.path.remove(str(BENCH))
    as_of = dt.date(2026, 11, 22)
    homes, events, actions = gen.generate(3, 2, as_of, seed=3)
    assert events and actions
    again, _ = gen.history_for(homes, 2, as_of, seed=3)
    # generate draws each home's places before its history, so only the shape is shared
    assert {e.home for e in again} == {h.id for h in homes}
    assert {e.rule for e in again} == {e.rule for e in events}
    assert gen.history_for(homes, 2, as_of, seed=3)[0] == again
    assert all(e.date < as_of for e in again)

"""The store: append-only log, migrations, derived summary, snapshots."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from compliance.errors import StoreError
from compliance.model import Event, Home
from compliance.store import MIGRATIONS, open_store

D = dt.date.fromisoformat


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = open_store(tmp_path / "s.db")
    with s.transaction():
        s.put_homes([Home("h", "Home", "england", since=D("2026-01-01"))])
    return s


def test_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    s = _store(tmp_path)
    with s.transaction():
        s.append_events([Event("e1", "h", "reg44-visit", D("2026-01-05"))], origin="t")
    for sql in ("UPDATE events SET date = '2026-01-06'", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            s.conn.execute(sql)


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    s = _store(tmp_path)
    with pytest.raises(RuntimeError), s.transaction():
        s.append_events([Event("e1", "h", "reg44-visit", D("2026-01-05"))], origin="t")
        raise RuntimeError("boom")
    assert s.counts()["events"] == 0
    assert s.summary_rows() == []


def test_migrations_are_recorded_and_newer_schema_refused(tmp_path: Path) -> None:
    s = _store(tmp_path)
    assert s.schema_version() == len(MIGRATIONS)
    s.conn.execute("INSERT INTO migrations VALUES (99, 'from the future', '2030-01-01')")
    s.close()
    with pytest.raises(StoreError, match="newer version"):
        open_store(tmp_path / "s.db")


def test_not_a_database(tmp_path: Path) -> None:
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a compliance database"):
        open_store(p)


def test_summary_incremental_equals_rebuilt(tmp_path: Path) -> None:
    s = _store(tmp_path)
    evs = [
        Event("e1", "h", "reg44-visit", D("2026-01-05")),
        Event("e2", "h", "reg44-visit", D("2026-01-20")),
        Event("e3", "h", "licence-renewal", D("2025-06-01"), expires=D("2028-05-31")),
        Event("e4", "h", "reg44-visit", D("2026-02-03")),
    ]
    with s.transaction():
        s.append_events(evs[:2], origin="t")
    with s.transaction():
        s.append_events(evs[2:], origin="t")
        s.append_events(
            [Event("e5", "h", "reg44-visit", D("2026-02-04"), supersedes="e4")], origin="t"
        )
    incremental = s.summary_rows()
    with s.transaction():
        s.rebuild_summary()
    assert s.summary_rows() == incremental
    rows = {r[1]: r for r in incremental}
    assert rows["reg44-visit"][2] == "2026-01-05,2026-01-20,2026-02-04"  # e4 superseded
    assert rows["reg44-visit"][3] == "2026-01,2026-02"
    assert '"2025-06-01": "2028-05-31"' in rows["licence-renewal"][6]


def test_bulk_append_matches_one_by_one(tmp_path: Path) -> None:
    a, b = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    evs = [
        Event(f"e{i}", "h", "reg44-visit", D("2026-01-01") + dt.timedelta(days=9 * i))
        for i in range(30)
    ]
    for s in (a, b):
        with s.transaction():
            s.put_homes([Home("h", "Home", "england")])
    with a.transaction():
        a.append_events(evs, origin="t")
    with b.transaction():
        assert b.append_events_bulk(evs + evs[:3], origin="t") == 30
    assert a.summary_rows() == b.summary_rows()

"""The agenda: ``due`` read from it must always equal ``due`` computed by the engine in full.

These tests drive arbitrary sequences of writes through the service, and writes that go around
it, and compare the answers at many dates, including dates before the latest event and horizons
past the agenda's (where it must step aside): the service's answer with the agenda, without it,
and the standard-library reader of the plain command lines (``agenda.listing``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import agenda, service
from compliance.errors import InvalidInput
from compliance.model import Home, Rule
from compliance.rules import rule_from_dict
from compliance.service import Network, due, reindex
from compliance.store import open_store

D = dt.date.fromisoformat
HOMES = [
    Home("north", "North", "england", secure=True, yjb=True, since=D("2024-01-01")),
    Home("east", "East", "england", secure=False),  # no since: starts at its first record
    Home("west", "West", "wales", secure=True, since=D("2024-03-15")),
]
RULES = [
    "reg44-visit",
    "reg45-review",
    "reg45-report",
    "ofsted-full",
    "ofsted-interim",
    "licence-renewal",
    "yjb-monitoring",
    "ri-visit",
    "quality-review",
    "ciw-inspection",
]


def _net(path: Path, *, index: bool = True) -> Network:
    return Network.open(open_store(path), index=index)


def _dicts(items: list[Any]) -> list[dict[str, Any]]:
    return [it.as_dict() for it in items]


def _agree(net: Network, as_of: dt.date, days: int, **kw: Any) -> list[dict[str, Any]]:
    """Assert that due with and without the agenda agree, and so does the reader of the plain
    command lines wherever it answers; return the answer."""
    with_index = _dicts(due(net, as_of, days, **kw))
    without = _dicts(due(net, as_of, days, use_index=False, **kw))
    assert with_index == without, (as_of, days, kw)
    lean = agenda.listing(net.store.conn, as_of, days, kw.get("homes"), kw.get("rules"))
    if lean is not None:  # byte for byte what the service's items give
        assert list(lean) == [json.dumps(d, ensure_ascii=False) for d in without], (as_of, days)
    return with_index


def _rows(net: Network, home: str, rule: str) -> list[tuple[str, str, str, str]]:
    """(period, window_start, due, due_from) of a pair's agenda rows."""
    return [
        tuple(r)
        for r in net.store.conn.execute(
            "SELECT period, window_start, due, due_from FROM agenda WHERE home = ? AND rule = ? "
            "ORDER BY due",
            (home, rule),
        )
    ]


ops = st.lists(
    st.tuples(
        st.sampled_from(["record", "record", "record", "waive", "action", "close"]),
        st.integers(min_value=0, max_value=2),  # home
        st.sampled_from(RULES),
        st.integers(min_value=0, max_value=1000),  # day offset from 2024-01-01
        st.integers(min_value=0, max_value=400),  # a second number (action lead, expiry)
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops, probes=st.lists(st.integers(min_value=0, max_value=1200), min_size=1, max_size=4))
def test_due_with_the_index_equals_due_without_it(
    steps: list[tuple[str, int, str, int, int]], probes: list[int]
) -> None:
    base = D("2024-01-01")
    with tempfile.TemporaryDirectory() as tmp:
        net = _net(Path(tmp) / "n.db")
        with net.store.transaction():
            net.store.put_homes(HOMES)
        clock = base
        actions: list[str] = []
        for kind, h, rule, offset, extra in sorted(steps, key=lambda s: s[3]):
            home = HOMES[h]
            clock = max(clock, base + dt.timedelta(days=offset))
            try:
                if kind == "record":
                    expires = (
                        clock + dt.timedelta(days=extra) if rule == "licence-renewal" else None
                    )
                    service.record(net, home.id, rule, when=clock, as_of=clock, expires=expires)
                elif kind == "waive":
                    open_ = [it for it in due(net, clock, 0) if it.occ.rule != "action"]
                    if open_:
                        service.waive(net, open_[extra % len(open_)].occ.id, "closed", clock)
                elif kind == "action":
                    a = service.add_action(
                        net, home.id, "Fix", clock + dt.timedelta(days=extra), as_of=clock
                    )
                    actions.append(a.id)
                elif actions:
                    service.close_action(net, actions[extra % len(actions)], clock, clock)
            except InvalidInput:
                pass  # a rule that does not apply to the home, an action closed twice, ...
            # after each write, today's listing agrees
            _agree(net, clock, 30)
        assert net.store.index_fingerprint() == service.index_fingerprint(net)
        assert net.store.unindexed_homes() == []
        for p in probes:  # and so does any other date, before or after the latest write
            day = base + dt.timedelta(days=p)
            for days in (0, 30, 400, 1200):
                _agree(net, day, days)
            _agree(net, day, 30, homes=["north"], rules=["reg44-visit", "reg45-report"])
        net.store.close()


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agenda's reach starts at today: pinned, so that the rows written are the same on any
    day (what due answers never depends on it)."""
    import compliance.clock

    monkeypatch.setattr(compliance.clock, "today", lambda: D("2024-06-01"))


def _demo_net(tmp_path: Path) -> Network:
    net = _net(tmp_path / "n.db")
    with net.store.transaction():
        net.store.put_homes(HOMES)
    for d in ("2024-01-10", "2024-02-10", "2024-04-10"):  # March missed
        service.record(net, "north", "reg44-visit", when=D(d), as_of=D(d))
    service.record(net, "north", "reg45-review", when=D("2024-05-01"), as_of=D("2024-05-01"))
    return net


def test_every_write_through_the_service_keeps_the_index(tmp_path: Path) -> None:
    net = _demo_net(tmp_path)
    s = net.store
    assert s.index_fingerprint() == service.index_fingerprint(net)
    assert s.unindexed_homes() == []
    visits = _rows(net, "north", "reg44-visit")
    # the missed March, then every month from May (nothing recorded since April) to the horizon
    assert visits[:3] == [
        ("2024-03", "2024-03-01", "2024-03-31", "2024-03-01"),
        ("2024-05", "2024-05-01", "2024-05-31", "2024-05-01"),
        ("2024-06", "2024-06-01", "2024-06-30", "2024-06-01"),
    ]
    horizon = s.conn.execute("SELECT horizon, until FROM pending_homes WHERE home = 'north'")
    latest, until = horizon.fetchone()
    assert latest == "2024-05-01"
    # INDEX_DAYS past today (the clock is pinned to 2024-06-01 for these tests)
    assert D(until) == D("2024-06-01") + dt.timedelta(days=agenda.INDEX_DAYS)
    assert until == "2026-08-10" and visits[-1][0] == "2026-07"  # the last month ending by then
    # 28 days after the review; due from the day of the review (the window opens then)
    assert _rows(net, "north", "reg45-report") == [
        ("2024-05-01", "2024-05-01", "2024-05-29", "2024-05-01")
    ]
    # at most 6 months after the review, due inside the 30-day lead time
    assert _rows(net, "north", "reg45-review") == [
        ("2024-11-01", "2024-05-02", "2024-11-01", "2024-10-02")
    ]
    assert _agree(net, D("2024-06-01"), 30)


def test_a_write_around_the_service_unindexes_the_home(tmp_path: Path) -> None:
    net = _demo_net(tmp_path)
    before = _agree(net, D("2024-06-05"), 0)
    assert any(i["id"] == "north/reg44-visit/2024-03" for i in before)
    # a waiver written with plain SQL (no hook, no reindex): the trigger drops the home's row
    net.store.conn.execute(
        "INSERT INTO events (id, home, rule, kind, date, target, notes, recorded_at) VALUES "
        "('raw', 'north', 'reg44-visit', 'waiver', '2024-06-01', 'north/reg44-visit/2024-03', "
        "'by hand', '2024-06-01T00:00:00Z')"
    )
    assert "north" in net.store.unindexed_homes()
    after = _agree(net, D("2024-06-05"), 0)
    assert not any(i["id"] == "north/reg44-visit/2024-03" for i in after)


def test_homes_written_without_the_hook_are_computed_in_full(tmp_path: Path) -> None:
    _demo_net(tmp_path).store.close()
    plain = _net(tmp_path / "n.db", index=False)
    service.record(plain, "east", "reg44-visit", when=D("2024-06-03"), as_of=D("2024-06-03"))
    assert plain.store.unindexed_homes() == ["east"]
    answer = _agree(plain, D("2024-08-02"), 0)
    assert [i["id"] for i in answer if i["home"] == "east"] == ["east/reg44-visit/2024-07"]


def test_a_rule_file_is_indexed_with_its_own_rules_in_the_same_write(tmp_path: Path) -> None:
    """The commit hook reads the rules from the database as the write left them, so a network
    opened before the rule arrived cannot index with the old ones."""
    net = _demo_net(tmp_path)
    rule: Rule = rule_from_dict(
        {
            "key": "reg44-visit",
            "title": "Reg 44 visit (fortnightly, provider policy)",
            "cadence": "gap",
            "days": 14,
            "nations": ["england"],
            "lead_days": 3,
            "source": "provider policy",
            "basis": "provider policy",
        },
        "test",
    )
    before = net.store.index_fingerprint()
    with net.store.transaction():
        net.store.put_rules([rule])
    assert net.store.index_fingerprint() == service.index_fingerprint(net) != before
    # 14 days after the last visit (10 April), due from 3 days before
    assert _rows(net, "north", "reg44-visit") == [
        ("2024-04-24", "2024-04-11", "2024-04-24", "2024-04-21")
    ]
    titles = dict(net.store.conn.execute("SELECT key, title FROM agenda_rules"))
    assert titles["reg44-visit"] == "Reg 44 visit (fortnightly, provider policy)"
    reopened = Network.open(net.store)
    answer = _agree(reopened, D("2024-06-01"), 0)
    assert [i["id"] for i in answer if i["rule"] == "reg44-visit"] == [
        "north/reg44-visit/2024-04-24"
    ]


def test_a_rule_changed_around_the_service_drops_the_fingerprint(tmp_path: Path) -> None:
    net = _demo_net(tmp_path)
    net.store.conn.execute(
        "INSERT INTO holiday_overrides VALUES ('england', '2024-06-03', 'add', 'by hand')"
    )
    assert net.store.index_fingerprint() is None  # the trigger dropped it
    assert agenda.listing(net.store.conn, D("2024-06-01"), 30) is None  # computed in full
    assert _agree(net, D("2024-06-01"), 30)
    with net.store.transaction():
        pass  # any write brings the agenda up to date again
    assert agenda.is_current(net.store.conn)


def test_a_change_of_code_invalidates_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = _demo_net(tmp_path)
    old = service.index_fingerprint(net)
    monkeypatch.setattr(agenda, "_CODE_STAMP", "engine:changed")
    assert service.index_fingerprint(net) != old
    assert agenda.listing(net.store.conn, D("2024-06-01"), 30) is None
    assert _agree(net, D("2024-06-01"), 30)
    with net.store.transaction():
        assert reindex(net) == len(HOMES)  # everything, not just the changed homes
    assert net.store.index_fingerprint() == service.index_fingerprint(net)


def test_init_brings_an_old_database_up_to_date(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "n.db"
    _demo_net(tmp_path).store.close()
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM meta WHERE key = ?", (agenda.FINGERPRINT_KEY,))  # as after an upgrade
    conn.commit()
    conn.close()
    assert cli("init", db_path=db).code == 0
    net = _net(db)
    assert net.store.index_fingerprint() == service.index_fingerprint(net)


def test_a_failed_write_leaves_the_index_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = _demo_net(tmp_path)
    rows = net.store.conn.execute("SELECT * FROM agenda ORDER BY home, rule, period").fetchall()

    def boom(_store: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(net.store, "before_commit", boom)
    with pytest.raises(RuntimeError):
        service.record(net, "north", "reg44-visit", when=D("2024-06-02"), as_of=D("2024-06-02"))
    assert net.store.counts()["events"] == 4  # the record rolled back with its index
    assert (
        net.store.conn.execute("SELECT * FROM agenda ORDER BY home, rule, period").fetchall()
        == rows
    )
    assert net.store.unindexed_homes() == []


def test_the_code_stamp_names_the_holidays_release() -> None:
    """A new holidays release can move a bank holiday, so it is part of the fingerprint."""
    import holidays

    assert f"holidays-{holidays.__version__}.dist-info" in agenda.code_stamp()


def test_a_waived_gap_is_not_the_next_due(tmp_path: Path) -> None:
    net = _demo_net(tmp_path)
    service.waive(net, "north/reg44-visit/2024-03", "visitor ill", D("2024-06-01"))
    assert [r[0] for r in _rows(net, "north", "reg44-visit")[:2]] == ["2024-05", "2024-06"]
    assert [i["id"] for i in _agree(net, D("2024-06-01"), 0) if i["rule"] == "reg44-visit"] == [
        "north/reg44-visit/2024-05"
    ]


def test_the_commit_hook_makes_no_reference_cycle(tmp_path: Path) -> None:
    """A network dropped is closed at once (a cycle would hold its connection, and WAL file,
    until the garbage collector ran: the server opens one per request)."""
    import gc
    import weakref

    gc.disable()
    try:
        net = _net(tmp_path / "n.db")
        store = weakref.ref(net.store)
        del net
        assert store() is None
    finally:
        gc.enable()


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_sqlite_quotes_text_as_json_dumps_does(text: str) -> None:
    """The agenda's items are built by SQLite; user text in them (home names, action titles)
    must come out exactly as json.dumps writes it on the service's route."""
    conn = sqlite3.connect(":memory:")
    quoted = conn.execute("SELECT json_quote(?)", (text,)).fetchone()[0]
    assert quoted == json.dumps(text, ensure_ascii=False)


def test_awkward_names_and_titles_read_the_same_from_the_agenda(tmp_path: Path) -> None:
    net = _net(tmp_path / "n.db")
    odd = Home("odd", 'O\'Brien "House"\n\t\\ Café ☃ \u2028', "england", since=D("2024-01-01"))
    with net.store.transaction():
        net.store.put_homes([odd])
    service.add_action(
        net, "odd", 'Fix "the" door\\ ☂ \x01', D("2024-02-10"), as_of=D("2024-01-05")
    )
    service.record(net, "odd", "reg44-visit", when=D("2024-01-05"), as_of=D("2024-01-05"))
    answer = _agree(net, D("2024-02-01"), 30)
    assert {i["home_name"] for i in answer} == {odd.name}
    assert 'Action: Fix "the" door\\ ☂ \x01' in {i["title"] for i in answer}
    assert agenda.listing(net.store.conn, D("2024-02-01"), 30) is not None  # it did answer


def test_the_agenda_streams(tmp_path: Path) -> None:
    """A listing is produced as it is read, not built whole first."""
    net = _demo_net(tmp_path)
    texts = agenda.listing(net.store.conn, D("2024-06-01"), 400)
    assert texts is not None and iter(texts) is texts  # a generator, not a list
    first = json.loads(next(texts))
    assert first == due(net, D("2024-06-01"), 400)[0].as_dict()  # the most urgent comes first
    assert first["id"] == "north/yjb-monitoring/2024-01"

"""Calendars written as streams, a batch of homes at a time: the bytes of one whole calendar.

The reference is the whole-calendar builder (:func:`compliance.ical.build_calendar`: one
icalendar ``Calendar`` holding every event of every home, computed in one batch). The commands
compute a few hundred homes at a time and, past one batch, spill each batch's VEVENTs to a
temporary file and merge them; tiny batches make the demo network take that path.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from freezegun import freeze_time

from compliance import feeds
from compliance.cli import write_atomic
from compliance.feeditems import Batches
from compliance.ical import build_calendar, uid_for
from compliance.service import Network
from compliance.spill import Record, Spill
from compliance.store import Store, open_store

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def demo(cli, db: Path):  # type: ignore[no-untyped-def]
    """The demo network (at a fixed instant: recorded_at feeds DTSTAMP), with subscriptions."""
    with freeze_time("2026-11-22 09:00:00"):
        assert cli("demo", "--as-of", AS_OF.isoformat()).code == 0
        for args in (
            ("kestrel-manager", "--home", "kestrel"),
            ("north", "--home", "northgate", "--home", "kestrel", "--home", "tyddyn"),
            ("visits", "--all-homes", "--rule", "reg44-visit", "--rule", "action"),
        ):
            assert cli("feeds", "add", *args).code == 0
    return cli


@pytest.fixture
def net(demo, db: Path) -> Iterator[Network]:  # type: ignore[no-untyped-def]
    store = open_store(db, create=False)
    try:
        yield Network.open(store)
    finally:
        store.close()


def whole(
    net: Network,
    homes: list[str] | None = None,
    rules: list[str] | None = None,
    days: int = feeds.DEFAULT_DAYS,
    history_days: int = feeds.DEFAULT_HISTORY_DAYS,
    name: str | None = None,
) -> bytes:
    """Every occurrence of the homes at once, in one icalendar Calendar."""
    keys = net.filters(homes, rules)
    ids = sorted(set(homes)) if homes else [h.id for h in net.store.homes()]
    pairs = Batches(net, AS_OF, rules=keys, days=days, history_days=history_days).batch(ids)
    return build_calendar(
        name or feeds.calendar_name(net, homes),
        [it for it, _ in pairs],
        {it.occ.id: st for it, st in pairs},
        description_text=feeds.feed_description(days, history_days),
    )


def streamed(net: Network, batch: int, **kw) -> tuple[bytes, feeds.CalendarStream]:  # type: ignore[no-untyped-def]
    with feeds.stream(net, AS_OF, batch=batch, **kw) as cal:
        return b"".join(cal), cal


def uids(body: bytes) -> list[str]:
    return [
        line[4:].decode()
        for line in body.replace(b"\r\n ", b"").split(b"\r\n")
        if line.startswith(b"UID:")
    ]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"days": 30, "history_days": 30},
        {"homes": ["kestrel", "tyddyn", "beacon-hill", "northgate"]},
        {"rules": ["reg44-visit", "ofsted-full"], "name": "Visits"},
        {"homes": ["northgate", "kestrel", "tyddyn"], "rules": ["action"], "days": 0},
    ],
)
def test_batches_give_the_bytes_of_the_whole_calendar(net: Network, kw) -> None:  # type: ignore[no-untyped-def]
    ref = whole(net, **kw)
    assert ref.count(b"BEGIN:VEVENT\r\n") > 0
    feed = feeds.render(net, AS_OF, **kw)  # one batch, kept in memory
    assert feed.body == ref
    for batch in (1, 3):  # spilled and merged
        body, cal = streamed(net, batch, **kw)
        assert body == ref, batch
        assert cal.events == feed.events == ref.count(b"BEGIN:VEVENT\r\n") == len(set(uids(body)))
        assert cal.last_modified == feed.last_modified >= feeds.start_of_day(AS_OF)


def test_events_are_in_due_then_id_order_across_homes(net: Network) -> None:
    body, _ = streamed(net, 1)
    lines = body.replace(b"\r\n ", b"").split(b"\r\n")
    starts = [x.split(b":")[1] for x in lines if x.startswith(b"DTSTART;VALUE=DATE:")]
    keys = list(zip(starts, uids(body), strict=True))
    assert keys == sorted(keys, key=lambda k: (k[0], k[1]))  # '.' sorts like '/' among ids here
    assert len({u.split(".")[0] for u in uids(body)[:40]}) > 3  # homes interleave by date


def test_a_calendar_is_computed_a_batch_at_a_time(
    net: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    real = Store.events_of

    def spy(self: Store, homes):  # type: ignore[no-untyped-def]
        homes = list(homes)
        asked.append(len(homes))
        return real(self, homes)

    def never(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("read every event of every home")

    monkeypatch.setattr(Store, "events_of", spy)
    monkeypatch.setattr(Store, "events", never)
    streamed(net, 4)
    assert asked == [4, 4, 4, 3]  # 15 homes
    asked.clear()
    with feeds.Publication(net, AS_OF, batch=6) as pub:
        assert sum(1 for _ in pub.files()) == 15 + 3
    assert asked == [6, 6, 3]


def test_parsers_read_a_spilled_calendar(net: Network) -> None:
    import icalendar
    import vobject
    from ical.calendar_stream import IcsCalendarStream

    body, cal = streamed(net, 2)
    ours = uids(body)
    parsed = icalendar.Calendar.from_ical(body)
    events = list(parsed.walk("VEVENT"))
    assert len(events) == cal.events == len(ours)
    assert {str(e["UID"]) for e in events} == set(ours)
    assert {e.uid.value for e in vobject.readOne(body.decode()).vevent_list} == set(ours)
    assert {e.uid for e in IcsCalendarStream.calendar_from_ics(body.decode()).events} == set(ours)


def test_the_cli_writes_a_spilled_calendar_whole(
    demo, net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    default = demo("ical", "--as-of", AS_OF.isoformat())
    assert default.code == 0, default.err
    monkeypatch.setattr(feeds, "BATCH_HOMES", 2)
    out = tmp_path / "all.ics"
    res = demo("ical", "--as-of", AS_OF.isoformat(), "--output", str(out))
    assert res.code == 0, res.err
    ref = whole(net)
    assert out.read_bytes() == ref == default.out.encode("utf-8")
    assert f"Wrote {ref.count(b'BEGIN:VEVENT')} events" in res.err
    res = demo("ical", "--as-of", AS_OF.isoformat(), "--output", "-")
    assert res.code == 0 and res.out.encode("utf-8") == ref
    assert not list(tmp_path.glob(".*.tmp"))


def test_output_dir_files_are_the_feeds_bytes(
    demo, net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(feeds, "BATCH_HOMES", 4)
    d = tmp_path / "pub"
    res = demo("ical", "--as-of", AS_OF.isoformat(), "--output-dir", str(d))
    assert res.code == 0, res.err
    assert "Wrote 15 home and 3 subscription calendars" in res.err
    subs = feeds.subscriptions(net)
    rendered = {h.id: feeds.render(net, AS_OF, homes=[h.id]) for h in net.store.homes()}
    rendered |= {s.name: feeds.render_subscription(net, s, AS_OF) for s in subs}
    assert len(rendered) == 15 + 3
    for h in net.store.homes():
        assert (d / "homes" / f"{h.id}.ics").read_bytes() == rendered[h.id].body, h.id
    assert sorted(p.name for p in (d / "subscriptions").iterdir()) == sorted(
        f"{s.name}.ics" for s in subs
    )
    for s in subs:
        body = (d / "subscriptions" / f"{s.name}.ics").read_bytes()
        assert body == rendered[s.name].body, s.name
    visits = uids((d / "subscriptions" / "visits.ics").read_bytes())
    assert len({u.split(".")[0] for u in visits}) > 5
    assert {u.split(".")[1] for u in visits} == {"reg44-visit", "action"}
    assert not list(d.glob("**/.*.tmp"))
    # the counts and Last-Modified of the published calendars are those of their feeds
    with feeds.Publication(net, AS_OF, batch=3) as pub:
        for rel, cal in pub.files():
            feed = rendered[rel.stem]
            assert b"".join(cal) == feed.body, rel
            assert (cal.events, cal.last_modified) == (feed.events, feed.last_modified), rel


def test_a_duplicate_uid_is_refused_across_batches(
    demo, net: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    batches = Batches(net, AS_OF)
    assert batches.batch(["kestrel"])
    with pytest.raises(ValueError, match="duplicate occurrence kestrel/"):
        batches.batch(["kestrel"])
    pairs = Batches(net, AS_OF).batch(["kestrel"])
    items = [it for it, _ in pairs]
    with pytest.raises(ValueError, match="duplicate occurrence"):
        build_calendar("x", [*items, items[0]], {it.occ.id: st for it, st in pairs})
    # a UID that forgot its home: every home's November visit is the same event
    import compliance.ical

    monkeypatch.setattr(compliance.ical, "uid_for", lambda oid: oid.split("/", 1)[1])
    with pytest.raises(ValueError, match="duplicate occurrence"):
        streamed(net, 1)
    monkeypatch.setattr(feeds, "BATCH_HOMES", 1)
    out = tmp_path / "x.ics"
    d = tmp_path / "pub"
    for args in (("--output", str(out)), ("--output", "-"), ("--output-dir", str(d))):
        res = demo("ical", "--as-of", AS_OF.isoformat(), *args)
        assert res.code == 70 and "duplicate occurrence" in res.err, args
        assert res.out == "" and "Traceback" not in res.err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    assert not list(d.glob("**/*.ics")) and not list(d.glob("**/.*.tmp"))


def test_write_atomic_of_pieces_is_whole_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    write_atomic(path, iter([b"BEGIN:VCALENDAR\r\n", b"END:VCALENDAR\r\n"]))
    assert path.read_bytes() == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"

    def failing() -> Iterator[bytes]:
        yield b"BEGIN:VCALENDAR\r\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(path, failing())
    assert path.read_bytes() == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"  # the old file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal.ics"]


# -- the spill file -----------------------------------------------------------------------------


def _records(rng: random.Random, n: int, home: str) -> list[Record]:
    out = []
    for i in range(n):
        due = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(400))
        rule = rng.choice(["reg44-visit", "action", "ofsted-full"])
        oid = f"{home}/{rule}/{i:03d}-é"
        out.append(Record(due, oid, rule, f"BEGIN:VEVENT\r\nUID:{oid}\r\n".encode() * (1 + i % 5)))
    return sorted(out, key=lambda r: r.key)


@pytest.mark.parametrize("buffer", [1, 64, 1 << 20])
def test_spilled_runs_merge_in_key_order(buffer: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import compliance.spill

    monkeypatch.setattr(compliance.spill, "MIN_BUFFER", buffer)
    monkeypatch.setattr(compliance.spill, "MAX_BUFFER", buffer)
    rng = random.Random(7)
    runs_of = [_records(rng, n, f"h{k}") for k, n in enumerate([0, 1, 30, 17, 50])]
    everything = sorted((r for rs in runs_of for r in rs), key=lambda r: r.key)
    with Spill() as spill:
        runs = [spill.add(rs) for rs in runs_of]
        assert [r.count for r in runs] == [0, 1, 30, 17, 50]
        assert list(spill.records(runs[2], buffer=buffer)) == runs_of[2]
        assert list(spill.merge(runs)) == [r.body for r in everything]
        assert list(spill.merge(runs, ["action"])) == [
            r.body for r in everything if r.rule == "action"
        ]
        assert list(spill.merge(runs[3:4])) == [r.body for r in runs_of[3]]
        assert list(spill.merge([])) == []


def test_a_spilled_run_must_be_sorted() -> None:
    a = Record(dt.date(2026, 1, 2), "h/r/1", "r", b"a")
    b = Record(dt.date(2026, 1, 1), "h/r/2", "r", b"b")
    with Spill() as spill, pytest.raises(ValueError, match="sorted"):
        spill.add([a, b])


def test_uids_of_a_spilled_calendar_are_the_occurrences(net: Network) -> None:
    body, _ = streamed(net, 3)
    ids = [it.occ.id for it, _ in Batches(net, AS_OF).batch([h.id for h in net.store.homes()])]
    assert sorted(uids(body)) == sorted(uid_for(i) for i in ids)


def test_events_of_a_batch_are_the_homes_events(net: Network) -> None:
    store = net.store
    homes = ["kestrel", "tyddyn", "northgate"]
    want = [e for h in homes for e in store.events(h, include_superseded=True)]
    got = store.events_of([*homes, "kestrel"])
    assert len(got) == len(want) > 100
    assert sorted(got, key=lambda e: e.id) == sorted(want, key=lambda e: e.id)
    assert any(e.supersedes for e in got) or any(e.expires for e in got)
    assert store.events_of([]) == []


def test_a_batch_snapshot_reads_only_its_homes_action_completions(demo, net: Network) -> None:  # type: ignore[no-untyped-def]
    actions = demo("action", "list", "--as-of", AS_OF.isoformat(), "--format", "json")
    for item in actions.json()["items"][:3]:
        assert demo("action", "done", item["id"], "--as-of", AS_OF.isoformat()).code == 0
    store = net.store
    everything = store.snapshot(None, open_actions_only=False)
    assert len(everything.action_done) >= 3
    for homes in (["kestrel", "tyddyn"], [h.id for h in store.homes()], ["northgate"]):
        snap = store.snapshot(homes, open_actions_only=False)
        theirs = {a.id for lst in snap.actions.values() for a in lst}
        assert snap.action_done == {k: d for k, d in everything.action_done.items() if k in theirs}
    assert store.snapshot(["kestrel"], open_actions_only=True).action_done == {}


def test_the_server_answers_a_spilled_feed_with_the_same_bytes(
    demo, net: Network, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from compliance.server import FeedApp

    res = demo("feeds", "add", "everything", "--all-homes")
    token = res.out.split("/feeds/")[1].split(".ics")[0]
    sub = next(s for s in feeds.subscriptions(net) if s.name == "everything")
    one_batch = feeds.render_subscription(net, sub, AS_OF)
    monkeypatch.setattr(feeds, "BATCH_HOMES", 2)
    spilled: list[int] = []
    real_add = Spill.add

    def add(self: Spill, records):  # type: ignore[no-untyped-def]
        run = real_add(self, records)
        spilled.append(run.count)
        return run

    monkeypatch.setattr(Spill, "add", add)
    answers: list[tuple[str, dict[str, str]]] = []
    app = FeedApp(db, today=lambda: AS_OF)
    body = b"".join(
        app(
            {"REQUEST_METHOD": "GET", "PATH_INFO": f"/feeds/{token}.ics"},
            lambda status, headers: answers.append((status, dict(headers))),
        )
    )
    ((status, headers),) = answers
    assert status == "200 OK" and body == one_batch.body
    assert len(spilled) == 8 and sum(spilled) == one_batch.events  # 15 homes, 2 at a time
    assert headers["ETag"] == one_batch.etag == feeds.etag_of(body)
    assert headers["Last-Modified"] == feeds.http_date(one_batch.last_modified)


def test_a_write_during_a_long_export_is_not_half_seen(
    net: Network, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches of one calendar read one snapshot of the database: a visit recorded by
    another connection while the export runs appears in none of them."""
    before = b"".join(feeds.stream(net, AS_OF, batch=2))
    from compliance import service

    first_batch = sorted(h.id for h in net.store.homes())[:2]
    last = next(  # a home of a later batch whose visit this month is still open
        it.occ.home
        for it in service.due(net, AS_OF, 30)
        if it.occ.id.endswith("/reg44-visit/2026-11") and it.occ.home not in first_batch
    )
    real = Batches.batch
    written: list[bool] = []

    def batch_then_write(self: Batches, ids: list[str]) -> object:
        out = real(self, ids)
        if not written:  # after the first batch, someone else records a visit
            other = Network.open(open_store(db, create=False))
            try:
                service.record(other, last, "reg44-visit", when=AS_OF, as_of=AS_OF)
            finally:
                other.store.close()
            written.append(True)
        return out

    monkeypatch.setattr(Batches, "batch", batch_then_write)
    during = b"".join(feeds.stream(net, AS_OF, batch=2))
    assert written and during == before
    monkeypatch.setattr(Batches, "batch", real)
    after = b"".join(feeds.stream(net, AS_OF, batch=2))
    assert after != before  # the visit is there for the next export

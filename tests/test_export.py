"""`compliance export` streams the document; its bytes are those of the whole document at once.

The export used to build the document as one dict and write ``tomli_w.dumps`` of it (1 GB on a
national database). ``old_export_data`` below is that construction, kept as the oracle: the
stream must give exactly its bytes on every shape of database (lists that tomli_w writes as
inline arrays or as tables, empty ones, times, corrections, waivers, actions, rules, holidays),
and the file must load back into the same deadlines.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from compliance import service
from compliance.demo import build_demo_db
from compliance.export import HEADER, export_pieces, export_text
from compliance.rules import rule_to_dict
from compliance.service import Network
from compliance.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 22)
LONDON = dt.timezone(dt.timedelta(hours=1))


def old_export_data(store: Store) -> dict[str, Any]:
    """The export as it was built before it streamed (verbatim, but for the names)."""
    data: dict[str, Any] = {"schema": 1}
    net = store.network()
    if net:
        data["network"] = {k.removeprefix("network."): v for k, v in net.items()}
    homes = []
    for h in store.homes():
        row: dict[str, Any] = {
            "id": h.id,
            "name": h.name,
            "nation": h.nation,
            "secure": h.secure,
            "yjb": h.yjb,
        }
        for k in ("since", "urn", "url", "local_authority", "sector", "places", "provision"):
            v = getattr(h, k)
            if v is not None:
                row[k] = v
        homes.append(row)
    data["homes"] = homes
    events, waivers = [], []
    done_actions: dict[str, dt.date] = {}
    for e in store.events(include_superseded=True):
        if e.rule == "action" and e.kind == "done":
            if e.target and e.target not in done_actions:
                done_actions[e.target] = e.date
            continue
        if e.kind == "waiver":
            w: dict[str, Any] = {
                "id": e.id,
                "occurrence": e.target,
                "reason": e.notes or "",
                "date": e.date,
            }
            if e.by:
                w["by"] = e.by
            waivers.append(w)
            continue
        row = {"id": e.id, "home": e.home, "rule": e.rule}
        row["date"] = dt.datetime.fromisoformat(e.at.replace("Z", "+00:00")) if e.at else e.date
        for k in ("by", "evidence", "notes", "outcome", "expires", "supersedes"):
            v = getattr(e, k)
            if v is not None:
                row[k] = v
        events.append(row)
    actions = []
    for a in store.actions():
        row = {"id": a.id, "home": a.home, "title": a.title, "due": a.due}
        for k in ("source", "owner", "created"):
            v = getattr(a, k)
            if v is not None:
                row[k] = v
        if a.id in done_actions:
            row["done"] = done_actions[a.id]
        actions.append(row)
    if events:
        data["events"] = events
    if actions:
        data["actions"] = actions
    if waivers:
        data["waivers"] = waivers
    rules = [rule_to_dict(r) for r in store.user_rules()]
    if rules:
        data["rules"] = rules
    hol = [
        {
            "nation": o.nation,
            "date": o.date,
            "name": o.name,
            **({"remove": True} if o.op == "remove" else {}),
        }
        for o in store.holiday_overrides()
    ]
    if hol:
        data["holidays"] = hol
    return data


def assert_streams_as_before(store: Store) -> str:
    expected = HEADER + tomli_w.dumps(old_export_data(store))
    pieces = list(export_pieces(store))
    assert b"".join(pieces).decode("utf-8") == expected
    assert "".join(export_text(store)) == expected
    return expected


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def rich(tmp_path: Path) -> Network:
    """The demo, plus what it lacks, each written through the service as a user would: an
    event with a time, a correction, waivers, actions done and open, rules and holidays."""
    db = tmp_path / "rich.db"
    build_demo_db(db, AS_OF)
    net = Network.open(open_store(db))
    at = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC)  # 23:30 UTC: the 20th in London
    service.record(net, "northgate", "reg45-review", when=at, as_of=AS_OF, by="R. Manager")
    first, _ = service.record(
        net, "fernlea", "reg45-review", when=dt.date(2026, 11, 2), as_of=AS_OF, notes="typo"
    )
    service.record(
        net,
        "fernlea",
        "reg45-review",
        when=dt.datetime(2026, 11, 3, 10, 15, tzinfo=LONDON),
        as_of=AS_OF,
        notes='corrected: "3rd", not the 2nd\nsecond line',
        supersedes=first.id,
    )
    for occ in ("beacon-hill/reg44-visit/2026-10", "dunmore/reg45-report/2026-10-23"):
        if service.why(net, occ, AS_OF).item.occ.is_open:
            service.waive(net, occ, "Visitor post vacant; RI visit instead", AS_OF, by="Ops")
    opened = service.add_action(
        net, "kestrel", "Replace the door alarms", AS_OF, as_of=AS_OF, owner="Estates"
    )
    service.add_action(net, "tyddyn", "Translate the children's guide", AS_OF, as_of=AS_OF)
    service.close_action(net, opened.id, AS_OF, AS_OF, by="Estates")
    holidays = write(
        tmp_path / "holidays.toml",
        """\
        schema = 1
        [[holidays]]
        nation = "scotland"
        date = 2026-06-15
        remove = true
        [[holidays]]
        nation = "england"
        date = 2026-12-29
        name = "Provider closure day, agreed with the commissioners as a bank holiday equivalent"
        """,
    )
    service.load(net, [ROOT / "examples" / "rules" / "provider-policy.toml", holidays])
    return net


def test_rich_database_streams_the_same_bytes(rich: Network) -> None:
    text = assert_streams_as_before(rich.store)
    for section in ("[[events]]", "[[actions]]", "[[waivers]]", "[[rules]]", "[[holidays]]"):
        assert f"\n{section}\n" in text
    assert "supersedes = " in text and "date = 2026-11-20 23:30:00+00:00" in text
    assert "done = 2026-11-22" in text


def test_export_is_read_in_one_snapshot_and_stops_cleanly(rich: Network) -> None:
    """A reader that stops early leaves no read transaction open (a write can follow)."""
    pieces = export_pieces(rich.store)
    next(pieces)
    pieces.close()
    assert not rich.store.conn.in_transaction
    service.add_action(rich, "kestrel", "Another", AS_OF, as_of=AS_OF)


SMALL_HOMES = """\
    schema = 1
    [network]
    name = "N"
    [[homes]]
    id = "n"
    name = "N"
    nation = "england"
    since = 2026-01-01
    """


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("", id="homes-only-inline"),
        # every event fits a line: tomli_w writes them as an inline array, before [network]
        pytest.param(
            """\
            [[events]]
            id = "e2"
            home = "n"
            rule = "reg44-visit"
            date = 2026-02-03
            [[events]]
            id = "e1"
            home = "n"
            rule = "reg44-visit"
            date = 2026-01-14
            [[holidays]]
            nation = "wales"
            date = 2026-03-02
            name = "St David"
            """,
            id="events-inline",
        ),
        # one event does not fit a line, the last in either order: all are tables
        pytest.param(
            """\
            [[events]]
            id = "e1"
            home = "n"
            rule = "reg44-visit"
            date = 2026-01-14
            [[events]]
            id = "e2"
            home = "n"
            rule = "reg44-visit"
            date = 2026-02-03
            by = "A visitor with a long enough name to push this record past a line"
            [[actions]]
            id = "a1"
            home = "n"
            title = "T"
            due = 2026-05-01
            done = 2026-04-01
            """,
            id="events-mixed",
        ),
    ],
)
def test_small_databases_stream_the_same_bytes(tmp_path: Path, extra: str) -> None:
    net = Network.open(open_store(tmp_path / "s.db"))
    fixture = write(tmp_path / "s.toml", SMALL_HOMES + textwrap.dedent(extra))
    service.load(net, [fixture])
    assert_streams_as_before(net.store)


def test_empty_database_streams_the_same_bytes(tmp_path: Path) -> None:
    store = open_store(tmp_path / "empty.db")
    assert assert_streams_as_before(store) == HEADER + "schema = 1\nhomes = []\n"


def test_export_of_the_rich_database_loads_into_the_same_deadlines(
    rich: Network,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    out = tmp_path / "export.toml"
    source = rich.store.path
    assert cli("export", "--output", str(out), db_path=source).code == 0
    assert out.read_text(encoding="utf-8") == HEADER + tomli_w.dumps(old_export_data(rich.store))
    assert cli("export", db_path=source).out == out.read_text(encoding="utf-8")
    copy = tmp_path / "copy.db"
    assert cli("load", str(out), db_path=copy).code == 0
    for as_of in ("2026-11-22", "2027-03-01"):
        args = ("due", "--as-of", as_of, "--days", "120", "--format", "json")
        a, b = cli(*args, db_path=source).out, cli(*args, db_path=copy).out
        assert a == b
        assert json.loads(a)["items"]
    assert cli("export", db_path=copy).out == out.read_text(encoding="utf-8")


def test_failed_export_leaves_nothing(
    rich: Network,
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure part-way through the stream writes no file and nothing on standard output."""
    from compliance import export

    def broken(e: Any) -> Any:
        if e.rule == "reg45-report":
            raise RuntimeError("disk on fire")
        return real(e)

    real = export.event_record
    monkeypatch.setattr(export, "event_record", broken)
    out = tmp_path / "export.toml"
    r = cli("export", "--output", str(out), db_path=rich.store.path)
    assert r.code == 70 and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export.toml.")]
    r = cli("export", db_path=rich.store.path)
    assert r.code == 70 and r.out == ""

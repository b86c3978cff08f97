"""`compliance ical`: RFC 5545 output that real parsers and clients read, stable across exports."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from freezegun import freeze_time

from compliance.ical import uid_for

AS_OF = "2026-11-22"
DATA = Path(__file__).parent / "data"


@pytest.fixture
def demo(cli):  # type: ignore[no-untyped-def]
    """The demo network, built at a fixed instant (recorded_at feeds DTSTAMP)."""
    with freeze_time("2026-11-22 09:00:00"):
        assert cli("demo", "--as-of", AS_OF).code == 0
    return cli


def export(cli, tmp_path: Path, *args: str, name: str = "out.ics") -> bytes:  # type: ignore[no-untyped-def]
    out = tmp_path / name
    res = cli("ical", "--as-of", AS_OF, *args, "--output", str(out))
    assert res.code == 0, res.err
    return out.read_bytes()


def unfold(body: bytes) -> list[str]:
    return body.decode("utf-8").replace("\r\n ", "").split("\r\n")


def vevents(body: bytes) -> dict[str, dict[str, str]]:
    """UID -> {property (with parameters): value}, from the unfolded text."""
    out: dict[str, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for line in unfold(body):
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT":
            assert cur is not None
            assert cur["UID"] not in out, f"duplicate UID {cur['UID']}"
            out[cur["UID"]] = cur
            cur = None
        elif cur is not None:
            key, _, value = line.partition(":")
            cur[key] = value
    return out


def lint(body: bytes) -> None:
    """What no parser checks: CRLF only, 75-octet lines, UTF-8 intact in every physical line."""
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in body.replace(b"\r\n", b""), "bare CR"
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold never splits a character
    text = "\r\n".join(unfold(body))
    for banned in ("METHOD:", "BEGIN:VTODO", "RDATE", "RRULE", "BEGIN:VALARM"):
        assert f"\r\n{banned}" not in text, banned
    for line in unfold(body):
        if line.startswith(("DTSTAMP", "LAST-MODIFIED")):
            assert re.fullmatch(r"[A-Z-]+:\d{8}T\d{6}Z", line), line


def test_calendar_properties_and_byte_lint(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = export(demo, tmp_path)
    lint(body)
    lines = unfold(body)
    head = lines[: lines.index("BEGIN:VEVENT")]
    assert "VERSION:2.0" in head and "X-WR-TIMEZONE:Europe/London" in head
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in head
    assert "X-PUBLISHED-TTL:PT1H" in head
    names = [x for x in head if x.startswith(("NAME:", "X-WR-CALNAME:"))]
    assert len(names) == 2 and all("compliance deadlines" in x for x in names)
    assert not any(x.startswith("DTSTAMP") for x in head)
    # no date in the header: a day passing must not change the calendar by itself
    assert AS_OF not in "".join(head)


def test_events_are_all_day_with_state_and_explanation(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evs = vevents(export(demo, tmp_path, "--home", "kestrel"))
    nov = evs[uid_for("kestrel/reg44-visit/2026-11")]
    assert nov["DTSTART;VALUE=DATE"] == "20261130" and nov["DTEND;VALUE=DATE"] == "20261201"
    assert nov["SUMMARY"] == "due: Independent person's visit (Reg 44) – Kestrel Court"
    assert nov["CATEGORIES"] == "Kestrel Court,reg44-visit,due"
    assert nov["TRANSP"] == "TRANSPARENT" and nov["SEQUENCE"] == "0"
    desc = nov["DESCRIPTION"].replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")
    assert "Status: due 2026-11-30" in desc and "Window: 2026-11-01 to 2026-11-30" in desc
    assert "Basis: statute" in desc and "Regulations 2015" in desc
    assert "1. Independent person's visit (Reg 44): at least once" in desc
    assert "As of" not in desc  # the day count would change every event every day
    states = {e["CATEGORIES"].rsplit(",", 1)[1] for e in evs.values()}
    assert {"due", "done"} <= states
    done = [e for e in evs.values() if e["SUMMARY"].startswith("done")]
    assert all(int(e["SEQUENCE"]) >= 1 for e in done)  # closed by a record
    assert all(uid.startswith("kestrel.") and uid.endswith("@compliance") for uid in evs)


def test_overdue_summary_and_url(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fx = tmp_path / "h.toml"
    fx.write_text(
        'schema = 1\n[[homes]]\nid = "oak"\nname = "Oak House"\nnation = "england"\n'
        'since = 2026-09-01\nurl = "https://homes.example.org/oak"\n',
        encoding="utf-8",
    )
    with freeze_time("2026-09-01 08:00:00"):
        assert cli("load", str(fx)).code == 0
    evs = vevents(export(cli, tmp_path, "--rule", "reg44-visit", "--days", "0"))
    assert set(evs) == {uid_for(f"oak/reg44-visit/2026-{m}") for m in ("09", "10")}
    sep = evs[uid_for("oak/reg44-visit/2026-09")]
    assert sep["SUMMARY"].startswith("OVERDUE: Independent person's visit (Reg 44) – Oak House")
    assert sep["URL"] == "https://homes.example.org/oak"
    # it changed when it turned overdue: 00:00 London on 1 October is 23:00 UTC on 30 September
    assert sep["LAST-MODIFIED"] == sep["DTSTAMP"] == "20260930T230000Z"
    assert "OVERDUE since 2026-10-01" in sep["DESCRIPTION"]


def test_two_exports_are_byte_identical_and_uids_stable(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = export(demo, tmp_path, name="a.ics")
    b = export(demo, tmp_path, name="b.ics")
    assert a == b
    res = demo("ical", "--as-of", AS_OF)  # standard output: the same bytes
    assert res.code == 0 and res.out.encode("utf-8") == a
    uids = list(vevents(a))
    assert len(uids) == len(set(uids)) > 500


def test_uids_are_safe_and_injective() -> None:
    assert uid_for("northgate/reg44-visit/2026-11") == "northgate.reg44-visit.2026-11@compliance"
    assert uid_for("a.b/r/p") != uid_for("a/b.r/p")
    assert re.fullmatch(r"[A-Za-z0-9_.%-]+@compliance", uid_for("h/action/a é/x"))


@pytest.mark.parametrize(
    "filters",
    [
        (),
        ("--days", "30"),
        ("--home", "kestrel", "--home", "tyddyn"),
        ("--rule", "reg44-visit", "--rule", "ofsted-full", "--days", "200"),
        ("--home", "northgate", "--rule", "action", "--days", "0"),
    ],
)
def test_open_events_are_exactly_the_due_items(demo, tmp_path: Path, filters) -> None:  # type: ignore[no-untyped-def]
    days = [] if "--days" in filters else ["--days", "400"]
    res = demo("due", "--as-of", AS_OF, *days, *filters, "--format", "json")
    assert res.code == 0, res.err
    due_ids = {uid_for(i["id"]): (i["due"], i["status"]) for i in res.json()["items"]}
    evs = vevents(export(demo, tmp_path, *filters))
    open_evs = {
        uid: e for uid, e in evs.items() if e["CATEGORIES"].rsplit(",", 1)[1] in ("OVERDUE", "due")
    }
    assert set(open_evs) == set(due_ids)
    for uid, (due, status) in due_ids.items():
        assert open_evs[uid]["DTSTART;VALUE=DATE"] == due.replace("-", "")
        assert open_evs[uid]["SUMMARY"].startswith("OVERDUE" if status == "overdue" else "due:")


def _closed_on(e: dict[str, str]) -> str:
    m = re.search(r"Status: (?:done|waived) on (\d{4}-\d{2}-\d{2})", e["DESCRIPTION"])
    return m.group(1).replace("-", "") if m else ""


def test_history_days_bounds_closed_events(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    full = vevents(export(demo, tmp_path, name="f.ics"))
    closed = {u for u, e in full.items() if _closed_on(e)}
    assert len(closed) > 100
    for days, cutoff in (("30", "20261023"), ("0", "20261122")):
        evs = vevents(export(demo, tmp_path, "--history-days", days, name=f"{days}.ics"))
        kept = closed & set(evs)
        assert kept < closed
        for u in kept:
            assert max(evs[u]["DTSTART;VALUE=DATE"], _closed_on(evs[u])) >= cutoff
        for u in closed - kept:
            assert max(full[u]["DTSTART;VALUE=DATE"], _closed_on(full[u])) < cutoff
        assert set(evs) - closed == set(full) - closed  # open ones do not depend on it


def changed(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> set[str]:
    assert set(before) == set(after)
    return {u for u in before if before[u] != after[u]}


def test_recording_a_visit_changes_that_event_and_nothing_else(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = vevents(export(demo, tmp_path, name="1.ics"))
    with freeze_time("2026-11-22 14:05:00"):
        res = demo("record", "kestrel", "reg44-visit", "--date", "2026-11-20", "--as-of", AS_OF)
    assert res.code == 0, res.err
    after = vevents(export(demo, tmp_path, name="2.ics"))
    uid = uid_for("kestrel/reg44-visit/2026-11")
    assert changed(before, after) == {uid}
    b, a = before[uid], after[uid]
    assert b["SUMMARY"].startswith("due:") and a["SUMMARY"].startswith("done:")
    assert int(a["SEQUENCE"]) == int(b["SEQUENCE"]) + 1
    assert a["LAST-MODIFIED"] == a["DTSTAMP"] == "20261122T140500Z" > b["LAST-MODIFIED"]
    assert a["DTSTART;VALUE=DATE"] == b["DTSTART;VALUE=DATE"]
    assert "done on 2026-11-20" in a["DESCRIPTION"]


def test_waiving_and_correcting_each_change_one_event(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = demo("overdue", "--as-of", AS_OF, "--format", "json")
    oid = res.json()["items"][0]["id"]
    uid = uid_for(oid)
    only = ("--home", oid.split("/")[0], "--home", "kestrel")
    before = vevents(export(demo, tmp_path, *only, name="1.ics"))
    with freeze_time("2026-11-22 15:00:00"):
        assert demo("waive", oid, "--reason", "Covered by RI visit", "--as-of", AS_OF).code == 0
    after = vevents(export(demo, tmp_path, *only, name="2.ics"))
    assert changed(before, after) == {uid}
    assert after[uid]["SUMMARY"].startswith("waived:")
    assert int(after[uid]["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
    # a correction of the visit that closed an occurrence is a revision of it
    with freeze_time("2026-11-22 16:00:00"):
        assert (
            demo("record", "kestrel", "reg44-visit", "--date", "2026-11-20", "--as-of", AS_OF).code
            == 0
        )
    mid = vevents(export(demo, tmp_path, *only, name="3.ics"))
    ev = json.loads(
        demo("history", "kestrel", "--events", "--rule", "reg44-visit", "--format", "json").out
    )["items"][-1]["id"]
    with freeze_time("2026-11-22 17:00:00"):
        res = demo(
            "record", "kestrel", "reg44-visit", "--date", "2026-11-21", "--corrects", ev,
            "--as-of", AS_OF,
        )  # fmt: skip
    assert res.code == 0, res.err
    last = vevents(export(demo, tmp_path, *only, name="4.ics"))
    nov = uid_for("kestrel/reg44-visit/2026-11")
    assert changed(mid, last) == {nov}
    assert int(last[nov]["SEQUENCE"]) == int(mid[nov]["SEQUENCE"]) + 1
    assert last[nov]["LAST-MODIFIED"] == "20261122T170000Z"


def test_a_day_passing_changes_only_events_whose_state_changed(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # 30 November -> 1 December: November's open visits turn overdue, nothing else changes
    a = vevents(export(demo, tmp_path, "--as-of", "2026-11-30", "--days", "60", name="a.ics"))
    b = vevents(export(demo, tmp_path, "--as-of", "2026-12-01", "--days", "59", name="b.ics"))
    common = set(a) & set(b)
    assert len(common) > 100
    for u in common:
        if a[u]["SUMMARY"] == b[u]["SUMMARY"]:
            assert a[u] == b[u], u
        else:
            assert b[u]["SUMMARY"].startswith("OVERDUE") and b[u]["SEQUENCE"] == a[u]["SEQUENCE"]
            assert b[u]["LAST-MODIFIED"] == "20261201T000000Z" > a[u]["LAST-MODIFIED"]


def test_bad_input_is_one_line_and_writes_nothing(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "never.ics"
    for args, code in (
        (("--home", "nowhere"), 3),
        (("--rule", "reg44-vist"), 2),
        (("--as-of", "2026-02-30"), 2),
        (("--days", "-1"), 2),
    ):
        res = demo("ical", *args, "--output", str(out))
        assert res.code == code, (args, res.err)
        assert "Traceback" not in res.err and len(res.err.strip().splitlines()) <= 6
        assert not out.exists()
    res = demo("ical", "--as-of", AS_OF, "--output", str(tmp_path / "missing" / "x.ics"))
    assert res.code == 2 and res.err.startswith("error: --output")
    assert list(tmp_path.glob("**/.*.tmp")) == []


def test_no_database_is_a_store_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("ical", "--as-of", AS_OF, db_path=tmp_path / "none.db")
    assert res.code == 4 and "no database" in res.err and not res.out


def test_output_dir_writes_every_home_and_subscription(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert demo("feeds", "add", "kestrel-manager", "--home", "kestrel").code == 0
    assert demo("feeds", "add", "regional", "--all-homes", "--rule", "reg44-visit").code == 0
    d = tmp_path / "pub"
    res = demo("ical", "--as-of", AS_OF, "--output-dir", str(d))
    assert res.code == 0, res.err
    homes = sorted(p.stem for p in (d / "homes").glob("*.ics"))
    assert len(homes) == 15 and "kestrel" in homes
    subs = sorted(p.name for p in (d / "subscriptions").iterdir())
    assert subs == ["kestrel-manager.ics", "regional.ics"]
    mine = (d / "subscriptions" / "kestrel-manager.ics").read_bytes()
    assert vevents(mine) == vevents(export(demo, tmp_path, "--home", "kestrel"))
    assert any(
        x.startswith("X-WR-CALNAME:") and x.endswith(": kestrel-manager") for x in unfold(mine)
    )
    assert (d / "homes" / "kestrel.ics").read_bytes() == export(demo, tmp_path, "--home", "kestrel")
    regional = vevents((d / "subscriptions" / "regional.ics").read_bytes())
    assert regional and all(".reg44-visit." in u for u in regional)
    for p in d.glob("**/*.ics"):
        lint(p.read_bytes())
    # revoked: its file is removed on the next run
    assert demo("feeds", "revoke", "regional").code == 0
    res = demo("ical", "--as-of", AS_OF, "--output-dir", str(d))
    assert res.code == 0 and "removed 1" in res.err
    assert sorted(p.name for p in (d / "subscriptions").iterdir()) == ["kestrel-manager.ics"]
    assert not list(d.glob("**/.*.tmp"))
    res = demo("ical", "--output-dir", str(d), "--home", "kestrel")
    assert res.code == 2


def test_independent_parsers_read_the_feed(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import vobject
    from ical.calendar_stream import IcsCalendarStream

    # three homes (England with YJB places, England, Wales): every kind of rule, and speed
    body = export(demo, tmp_path, "--home", "kestrel", "--home", "beacon-hill", "--home", "tyddyn")
    ours = vevents(body)
    assert len({u.split(".")[1] for u in ours}) >= 8
    text = body.decode("utf-8")
    v = vobject.readOne(text)
    assert len(v.vevent_list) == len(ours)
    for ve in v.vevent_list:
        start = ve.dtstart.value
        assert type(start) is dt.date and ve.dtend.value == start + dt.timedelta(days=1)
        assert ve.uid.value in ours
    cal = IcsCalendarStream.calendar_from_ics(text)
    assert len(cal.events) == len(ours)
    uids = {e.uid for e in cal.events}
    assert uids == set(ours)
    e = next(e for e in cal.events if e.uid == uid_for("kestrel/reg44-visit/2026-11"))
    assert e.dtstart == dt.date(2026, 11, 30) and e.summary.startswith("due: ")
    assert e.categories == ["Kestrel Court", "reg44-visit", "due"]


@pytest.mark.slow
def test_khal_imports_the_feed(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real calendar client: khal imports the export into a vdir and lists the events."""
    import os
    import subprocess
    import sys

    khal = Path(sys.executable).parent / "khal"
    body = export(demo, tmp_path, "--home", "kestrel")
    ics = tmp_path / "kestrel.ics"
    ics.write_bytes(body)
    vdir = tmp_path / "vdir"
    vdir.mkdir()
    conf = tmp_path / "khal.conf"
    conf.write_text(
        f"[calendars]\n[[deadlines]]\npath = {vdir}\ntype = calendar\n"
        f"[sqlite]\npath = {tmp_path / 'khal.db'}\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        "default_timezone = Europe/London\nlocal_timezone = Europe/London\n"
        "[default]\ndefault_calendar = deadlines\n",
        encoding="utf-8",
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    run = dict(capture_output=True, text=True, env=env, timeout=120)
    imp = subprocess.run([str(khal), "-c", str(conf), "import", "--batch", str(ics)], **run)  # type: ignore[call-overload]
    assert imp.returncode == 0, imp.stderr
    assert len(list(vdir.glob("*.ics"))) == len(vevents(body))
    out = subprocess.run(  # type: ignore[call-overload]
        [str(khal), "-c", str(conf), "list", "2026-11-01", "2026-12-31",
         "--format", "{start-date} {title} [{categories}]"],
        **run,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (
        "2026-11-30 due: Independent person's visit (Reg 44) – Kestrel Court "
        "[Kestrel Court,reg44-visit,due]"
    ) in out.stdout
    assert "2026-12-31 due: Independent person's visit (Reg 44) – Kestrel Court" in out.stdout


def test_text_is_escaped_in_calendar_and_event_properties(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fx = tmp_path / "h.toml"
    fx.write_text(
        'schema = 1\n[network]\nname = "North; South, and East"\n'
        '[[homes]]\nid = "oak"\nname = "Oak, Ash; Elm"\nnation = "england"\nsince = 2026-09-01\n',
        encoding="utf-8",
    )
    assert cli("load", str(fx)).code == 0
    body = export(cli, tmp_path, "--rule", "reg44-visit", "--days", "0")
    lint(body)
    lines = unfold(body)
    assert "X-WR-CALNAME:North\\; South\\, and East: compliance deadlines" in lines
    assert "NAME:North\\; South\\, and East: compliance deadlines" in lines
    (desc,) = [x for x in lines if x.startswith("X-WR-CALDESC:")]
    assert "\\," in desc and not re.search(r"[^\\][,;]", desc)
    one = unfold(export(cli, tmp_path, "--home", "oak", name="oak.ics"))
    assert "X-WR-CALNAME:Oak\\, Ash\\; Elm: compliance deadlines" in one
    ev = vevents(body)[uid_for("oak/reg44-visit/2026-09")]
    assert ev["CATEGORIES"] == "Oak Ash Elm,reg44-visit,OVERDUE"
    assert ev["SUMMARY"].endswith("– Oak\\, Ash\\; Elm")
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    assert cal.events[0].categories == ["Oak Ash Elm", "reg44-visit", "OVERDUE"]
    assert cal.events[0].summary.endswith("– Oak, Ash; Elm")
    import vobject

    ve = vobject.readOne(body.decode("utf-8")).vevent_list[0]
    assert ve.summary.value.endswith("– Oak, Ash; Elm")
    assert ve.categories.value == ["Oak Ash Elm", "reg44-visit", "OVERDUE"]

"""`compliance import ofsted`: the database after import agrees with facts computed from the raw rows.

The expected facts are computed here, independently of compliance.ofsted, with the csv module from
the excerpts in tests/data/ofsted/ (bytes as published: several layouts, BOMs, preambles,
Windows-1252, trailing empty columns; Open Government Licence v3.0, see the README there).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import sqlite3
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "ofsted"
FILES = sorted(DATA.glob("provider-level-in-year-*.csv"))
YEARS = [f.stem.removeprefix("provider-level-in-year-") for f in FILES]
AS_OF = "2024-06-01"

KEPT = {
    "secure children's home": True,
    "children's home": False,
    "residential special school (registered as a children's home)": False,
    "residential special school (>295 days/year)": False,
}
HEADER_NAMES = {
    "type": ["Inspection type", "Event type", "Inspection event type"],
    "date": ["Inspection Date", "Inspection date"],
    "number": ["Inspection ID", "Event number", "Inspection event number"],
    "judgement": [
        "Overall effectiveness",
        "Overall experiences and progress of children and young people",
        "Inspection overall experiences and progress of children and young people",
    ],
}
# the education judgement: 2014-15 and 2018-19 on (2021-22 prefixes "Inspection"); no column in
# 2015-16 to 2017-18. 2023-24 also has "Previous outcomes in ...": last year's, not this row's.
EDUCATION_NAMES = [
    "Outcomes in education and related learning activities",
    "Inspection outcomes in education and related learning activities",
]


def inspection_year(d: dt.date) -> str:
    y = d.year if d.month >= 4 else d.year - 1
    return f"{y}-{(y + 1) % 100:02d}"


def raw_rows(path: Path) -> list[dict[str, str]]:
    """The file's inspections of homes we keep, read with nothing but csv."""
    b = path.read_bytes()
    try:
        text = b.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = b.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Web link")
    h = rows[head]
    col = {k: next(h.index(n) for n in names if n in h) for k, names in HEADER_NAMES.items()}
    edu = next((h.index(n) for n in EDUCATION_NAMES if n in h), None)
    prev = (
        h.index("Previous outcomes in education and related learning activities")
        if ("Previous outcomes in education and related learning activities" in h)
        else None
    )
    out = []
    for r in rows[head + 1 :]:
        if not any(r) or r[h.index("Provision type")].lower() not in KEPT:
            continue
        secure = KEPT[r[h.index("Provision type")].lower()]
        typ = r[col["type"]].lower()
        day, month, year = (int(x) for x in r[col["date"]].split("/"))
        if typ == "full inspection":
            rule = "ofsted-full"
        elif typ in ("sc interim", "interim inspection", "assurance visit") and secure:
            rule = "ofsted-interim"
        else:
            rule = "ofsted-other"
        out.append(
            {
                "urn": r[h.index("URN")],
                "secure": secure,
                "la": r[h.index("Local authority")],
                "rule": rule,
                "date": dt.date(year, month, day),
                "number": r[col["number"]],
                "outcome": r[col["judgement"]] or None,
                "provision": r[h.index("Provision type")],
                "sector": r[h.index("Sector")],
                "places": r[h.index("Places")] if "Places" in h else "",
                "education": r[edu] if edu is not None else "",
                "previous_education": r[prev] if prev is not None else "",
            }
        )
    return out


RAW = {y: raw_rows(f) for y, f in zip(YEARS, FILES, strict=True)}
# the ofsted-education events the raw rows call for: secure homes' full inspections that carry
# an education judgement
EDU = {
    y: [x for x in rows if x["secure"] and x["rule"] == "ofsted-full" and x["education"]]
    for y, rows in RAW.items()
}
EVENTS = sum(map(len, RAW.values())) + sum(map(len, EDU.values()))


def db_events(db: Path) -> set[tuple[str, str, str, str | None]]:
    with sqlite3.connect(db) as c:
        return set(
            c.execute(
                "SELECT h.urn, e.rule, e.date, e.outcome FROM events e JOIN homes h ON h.id = e.home"
            )
        )


def snapshot(db: Path) -> tuple[object, ...]:
    with sqlite3.connect(db) as c:
        return (
            sorted(c.execute("SELECT id, home, rule, kind, date, outcome, notes FROM events")),
            sorted(c.execute("SELECT * FROM homes"))[:],
            sorted(c.execute("SELECT * FROM summary")),
        )


def imp(cli, *args: str, files: list[Path] = FILES, db_path: Path | None = None):  # type: ignore[no-untyped-def]
    extra = {"db_path": db_path} if db_path is not None else {}
    return cli("import", "ofsted", *map(str, files), *args, **extra)


def test_every_layout_imports_the_rows_the_raw_files_hold(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    r = imp(cli, "--format", "json")
    assert r.code == 0, r.err
    report = r.json()
    # events per inspection year, as the importer reports them and as the raw rows say: one per
    # inspection, and one more for each secure home's full inspection with an education judgement
    assert [f["events_added"] for f in report["files"]] == [
        len(RAW[y]) + len(EDU[y]) for y in YEARS
    ]
    assert [f["education_added"] for f in report["files"]] == [len(EDU[y]) for y in YEARS]
    assert [f["path"] for f in report["files"]] == [f.name for f in FILES]
    expected = {
        (x["urn"], x["rule"], x["date"].isoformat(), x["outcome"])
        for rows in RAW.values()
        for x in rows
    } | {
        (x["urn"], "ofsted-education", x["date"].isoformat(), x["education"])
        for rows in EDU.values()
        for x in rows
    }
    assert db_events(db) == expected
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM events").fetchone()[0] == EVENTS
        homes = {
            u: (bool(s), la, n)
            for u, s, la, n in c.execute("SELECT urn, secure, local_authority, name FROM homes")
        }
        ids = {i for (i,) in c.execute("SELECT id FROM homes")}
    # every home by URN, with its secure flag and local authority from its most recent inspection
    newest: dict[str, dict[str, object]] = {}
    for rows in RAW.values():
        for x in rows:
            if x["urn"] not in newest or x["date"] >= newest[x["urn"]]["date"]:  # type: ignore[operator]
                newest[x["urn"]] = x
    assert set(homes) == set(newest)
    for urn, x in newest.items():
        assert homes[urn] == (x["secure"], x["la"], f"{urn} ({x['la']})"), urn
    assert ids == {u.lower() for u in newest}
    assert sum(1 for s, _, _ in homes.values() if s) == len(
        {x["urn"] for x in newest.values() if x["secure"]}
    )
    # skipped rows are counted by reason; nothing silently dropped
    for f, y in zip(report["files"], YEARS, strict=True):
        assert f["data_rows"] == f["kept_rows"] + sum(f["skipped"].values())
        assert f["kept_rows"] == len(RAW[y])
    assert any(
        k.startswith("provision type: Secure Training Centre") for k in report["total"]["skipped"]
    )


def test_secure_homes_missing_an_inspection_are_what_due_and_history_report(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert imp(cli).code == 0
    first: dict[str, dt.date] = {}
    done: dict[tuple[str, str], set[str]] = {}
    secure_now: dict[str, tuple[dt.date, bool]] = {}
    for rows in RAW.values():
        for x in rows:
            u, d = x["urn"], x["date"]
            first[u] = min(first.get(u, d), d)
            done.setdefault((u, x["rule"]), set()).add(inspection_year(d))
            if u not in secure_now or d >= secure_now[u][0]:
                secure_now[u] = (d, x["secure"])
    secure = sorted(u for u, (_, s) in secure_now.items() if s)
    assert len(secure) >= 10
    lacking: set[str] = set()
    for rule in ("ofsted-full", "ofsted-interim"):
        for u in secure:
            # the year of the home's first event is owed (tracking starts then); earlier ones not
            owed = [y for y in YEARS if y >= inspection_year(first[u])]
            got = cli("history", u.lower(), "--rule", rule, "--as-of", AS_OF, "--format", "json")
            status = {i["id"].rsplit("/", 1)[1]: i["status"] for i in got.json()["items"]}
            for y in owed:
                want = "done" if y in done.get((u, rule), set()) else "overdue"
                assert status[y] == want, (u, rule, y)
                if want == "overdue":
                    lacking.add(f"{u.lower()}/{rule}/{y}")
    assert lacking, "the excerpt holds secure homes that missed an inspection"
    due = cli(
        "due",
        "--as-of",
        AS_OF,
        "--rule",
        "ofsted-full",
        "--rule",
        "ofsted-interim",
        "--format",
        "json",
    )
    listed = {
        i["id"]
        for i in due.json()["items"]
        if i["status"] == "overdue"
        and i["id"].rsplit("/", 1)[1] in YEARS
        and i["home"] in {u.lower() for u in secure}
    }
    assert listed == lacking


def plus_3_years(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year + 3)
    except ValueError:  # 29 February: clamped to the month's end (C5)
        return d.replace(year=d.year + 3, day=28)


def test_secure_full_inspections_with_an_education_judgement_record_ofsted_education(
    cli, db: Path
) -> None:  # type: ignore[no-untyped-def]
    # the excerpts keep every secure home's rows, so these are the published files' counts
    assert {y: len(EDU[y]) for y in YEARS} == {
        "2014-15": 14,
        "2015-16": 0,  # no education column 2015-16 to 2017-18
        "2016-17": 0,
        "2021-22": 12,
        "2022-23": 14,
        "2023-24": 15,
    }
    without = [
        x
        for x in RAW["2014-15"]
        if x["secure"] and x["rule"] == "ofsted-full" and not x["education"]
    ]
    assert len(without) == 3  # full inspections of secure homes without an education judgement
    # 2023-24 also repeats last year's judgement in "Previous outcomes ...": not this row's
    assert any(
        x["previous_education"] and x["previous_education"] != x["education"]
        for x in EDU["2023-24"]
    )
    r = imp(cli, "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["total"]["education_added"] == sum(map(len, EDU.values()))
    with sqlite3.connect(db) as c:
        edu = set(
            c.execute(
                "SELECT e.id, h.urn, e.date, e.by, e.outcome FROM events e"
                " JOIN homes h ON h.id = e.home WHERE e.rule = 'ofsted-education'"
            )
        )
        full = set(c.execute("SELECT id, date FROM events WHERE rule = 'ofsted-full'"))
        ids = {i for (i,) in c.execute("SELECT id FROM events")}
    # one per such inspection: same date, by Ofsted, the education judgement as its outcome
    assert edu == {
        (
            f"ofsted-{x['urn'].lower()}-{x['number']}-education",
            x["urn"],
            x["date"].isoformat(),
            "Ofsted",
            x["education"],
        )
        for rows in EDU.values()
        for x in rows
    }
    # beside the full inspection it comes from, with an id of its own
    assert {(i.removesuffix("-education"), d) for i, _, d, _, _ in edu} <= full
    for x in without:
        assert f"ofsted-{x['urn'].lower()}-{x['number']}" in ids
        assert f"ofsted-{x['urn'].lower()}-{x['number']}-education" not in ids
    # 'due' now counts three years from each secure home's latest education inspection
    last: dict[str, dt.date] = {}
    for rows in EDU.values():
        for x in rows:
            u = x["urn"].lower()
            last[u] = max(last.get(u, x["date"]), x["date"])
    secure = {h["id"] for h in cli("homes", "--format", "json").json()["items"] if h["secure"]}
    assert set(last) == secure
    due = cli(
        "due", "--rule", "ofsted-education", "--as-of", AS_OF, "--days", "3650", "--format", "json"
    ).json()["items"]
    assert {i["home"]: i["due"] for i in due} == {
        u: plus_3_years(d).isoformat() for u, d in last.items()
    }
    overdue = {i["home"] for i in due if i["status"] == "overdue"}
    assert overdue == {u for u, d in last.items() if plus_3_years(d) < dt.date.fromisoformat(AS_OF)}
    assert len(overdue) < len(secure) // 2  # before: every secure home, overdue since 2017
    # and 'history' shows education inspections meeting its occurrences (a home's first event
    # starts tracking: one on that day anchors the first occurrence rather than meeting one)
    met = 0
    for u in sorted(secure):
        dates = {
            x["date"].isoformat() for rows in EDU.values() for x in rows if x["urn"].lower() == u
        }
        got = cli("history", u, "--rule", "ofsted-education", "--as-of", AS_OF, "--format", "json")
        done = {i["done_on"] for i in got.json()["items"] if i["status"] in ("done", "late")}
        assert done <= dates, u
        met += len(done)
    assert met >= len(secure)


def test_only_secure_full_inspections_with_a_judgement_are_education_events() -> None:
    from dataclasses import replace

    from compliance.model import Home
    from compliance.ofsted import CHILDRENS_HOME, FULL, INTERIM, SECURE, Row, events_for

    home = Home("sc1", "SC1", "england")
    base = Row(
        line=2,
        urn="SC1",
        provision=SECURE,
        secure=True,
        local_authority="Surrey",
        sector="Local authority",
        places=7,
        kind=FULL,
        event_type="Full inspection",
        date=dt.date(2019, 5, 2),
        number="123",
        judgement="Good",
        status="Active",
        education="Outstanding",
    )
    full, edu = events_for(base, home)
    assert (full.id, full.rule, full.outcome) == ("ofsted-sc1-123", "ofsted-full", "Good")
    assert (edu.id, edu.rule, edu.date, edu.by, edu.outcome) == (
        "ofsted-sc1-123-education",
        "ofsted-education",
        dt.date(2019, 5, 2),
        "Ofsted",
        "Outstanding",
    )
    for row in (
        replace(base, education=""),  # no education judgement
        replace(base, kind=INTERIM, event_type="Interim inspection"),  # only full inspections
        replace(base, provision=CHILDRENS_HOME, secure=False),  # the rule is for secure homes
    ):
        evs = events_for(row, home)
        assert len(evs) == 1 and evs[0].rule != "ofsted-education" and evs[0].id == full.id


def test_homes_json_and_csv_show_the_register_details(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert imp(cli).code == 0
    got = cli("homes", "--format", "json")
    assert got.code == 0
    items = {h["urn"]: h for h in got.json()["items"]}
    fields = ["local_authority", "sector", "places", "provision"]
    with sqlite3.connect(db) as c:
        stored = {r[0]: r[1:] for r in c.execute(f"SELECT urn, {', '.join(fields)} FROM homes")}
    assert set(items) == set(stored)
    for urn, h in items.items():
        assert tuple(h[f] for f in fields) == stored[urn], urn
    # and what is stored is the raw rows' register details, from the home's newest inspection
    newest: dict[str, dict[str, object]] = {}
    for rows in RAW.values():
        for x in rows:
            if x["urn"] not in newest or x["date"] >= newest[x["urn"]]["date"]:  # type: ignore[operator]
                newest[x["urn"]] = x
    canonical = {
        "secure children's home": "Secure children's home",
        "children's home": "Children's home",
        "residential special school (registered as a children's home)": (
            "Residential special school (registered as a children's home)"
        ),
        "residential special school (>295 days/year)": (
            "Residential special school (registered as a children's home)"
        ),
    }
    for urn, x in newest.items():
        h = items[urn]
        assert h["local_authority"] == x["la"] and h["sector"].lower() == str(x["sector"]).lower()
        assert h["provision"] == canonical[str(x["provision"]).lower()], urn
        if x["places"]:
            assert h["places"] == int(str(x["places"])), urn
    assert {h["provision"] for h in items.values()} >= {"Secure children's home", "Children's home"}
    assert {h["sector"] for h in items.values()} >= {"Local authority", "Private"}
    # places are null only for homes seen in 2014-15 alone (the one year without the column)
    with_places = {x["urn"] for rows in RAW.values() for x in rows if x["places"]}
    assert with_places and {u for u, h in items.items() if h["places"] is not None} == with_places
    # CSV: every JSON field, the same values
    out = cli("homes", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.out)))
    assert list(table[0]) == list(next(iter(items.values())))
    for row in table:
        h = items[row["urn"]]
        assert [row[f] for f in fields] == ["" if h[f] is None else str(h[f]) for f in fields]
    # the table keeps its seven columns: the imported names already fill 80 columns
    text = cli("homes").out.splitlines()
    assert text[0].split() == ["ID", "NAME", "NATION", "SECURE", "YJB", "SINCE", "URN"]


def test_ordinary_homes_get_only_their_rules(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert imp(cli).code == 0
    homes = cli("homes", "--format", "json").json()["items"]
    ordinary = next(h["id"] for h in homes if not h["secure"])
    secure = next(h["id"] for h in homes if h["secure"])
    keys = {r["key"] for r in cli("rules", "--home", ordinary, "--format", "json").json()["items"]}
    assert keys == {
        "reg44-visit",
        "reg45-review",
        "reg45-report",
        "ofsted-full",
        "ofsted-other",
        "action",
    }
    skeys = {r["key"] for r in cli("rules", "--home", secure, "--format", "json").json()["items"]}
    assert {"ofsted-interim", "ofsted-education", "licence-renewal"} <= skeys
    assert not {"yjb-monitoring", "yjb-review"} & skeys  # the data says nothing of YJB places
    due = cli("due", "--home", ordinary, "--as-of", AS_OF, "--format", "json").json()["items"]
    assert due and {i["rule"] for i in due} <= {"reg44-visit", "reg45-review", "ofsted-full"}
    # an interim inspection of an ordinary home is on record but satisfies nothing
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT e.rule, e.notes FROM events e JOIN homes h ON h.id = e.home WHERE h.secure = 0 AND e.notes LIKE '%nterim%'"
        ).fetchall()
    assert rows and {r for r, _ in rows} == {"ofsted-other"}


def test_importing_twice_or_in_another_order_changes_nothing(cli, db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert imp(cli).code == 0
    before = snapshot(db)
    again = imp(cli, "--format", "json")
    assert again.code == 0
    t = again.json()["total"]
    assert (t["homes_added"], t["homes_updated"], t["events_added"]) == (0, 0, 0)
    assert t["events_known"] == EVENTS
    assert snapshot(db) == before
    other = tmp_path / "reversed.db"
    assert imp(cli, files=FILES[::-1], db_path=other).code == 0
    a, b = snapshot(db), snapshot(other)
    assert a[0] == b[0] and a[2] == b[2]
    strip = lambda rows: [r[:-1] for r in rows]  # noqa: E731  (updated_at differs)
    assert strip(a[1]) == strip(b[1])


def test_dry_run_writes_nothing_and_reports_what_import_would(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    dry = imp(cli, "--dry-run", "--format", "json")
    assert dry.code == 0, dry.err
    assert not db.exists()
    real = imp(cli, "--format", "json")
    assert dry.json()["files"] == real.json()["files"]
    assert dry.json()["dry_run"] is True
    files = [db, Path(str(db) + "-wal")]
    digest = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()]
    text = imp(cli, "--dry-run")
    assert text.code == 0 and "Dry run: nothing was written." in text.out
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()] == digest


def _copy(tmp_path: Path, src: Path, old: bytes, new: bytes) -> Path:
    out = tmp_path / src.name
    data = src.read_bytes()
    assert old in data
    out.write_bytes(data.replace(old, new, 1))
    return out


def test_unknown_layout_is_refused_naming_the_file_and_columns(
    cli, db: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = _copy(tmp_path, FILES[1], b",Event type,", b",Visit kind,")
    r = imp(cli, files=[FILES[0], bad])
    assert r.code == 2
    assert bad.name in r.err and "'Event type'" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not db.exists()  # every file is read before the database is touched
    assert imp(cli, files=[FILES[0]]).code == 0
    before = snapshot(db)
    assert imp(cli, files=[FILES[2], bad]).code == 2
    assert snapshot(db) == before
    junk = tmp_path / "notes.csv"
    junk.write_text("hello,world\n1,2\n")
    r = imp(cli, files=[junk])
    assert r.code == 2 and "notes.csv" in r.err and "no header row" in r.err


def _date_cell(line: bytes) -> bytes:
    return next(c for c in line.split(b",") if c.count(b"/") == 2)


@pytest.mark.parametrize("form", ["impossible", "iso", "one-digit", "other-digits"])
def test_a_bad_date_is_refused_with_its_line(cli, db: Path, tmp_path: Path, form: str) -> None:  # type: ignore[no-untyped-def]
    lines = FILES[0].read_bytes().split(b"\r\n")
    n, line = next(
        (n, ln)
        for n, ln in enumerate(lines)
        if b"Secure children's home" in ln
        # a date with a leading zero to drop (the row's own date, written 1/2/2016)
        and (form != "one-digit" or b"/0" in b"/" + _date_cell(ln))
    )
    date = _date_cell(line)
    day, month, year = date.split(b"/")
    if form == "iso":  # the row's own date, in a form no published file uses
        new = b"-".join((year, month, day))
        assert dt.date.fromisoformat(new.decode())  # a real date, only in the wrong form
    elif form == "one-digit":
        new = b"/".join((str(int(day)).encode(), str(int(month)).encode(), year))
        assert new != date
    elif form == "other-digits":  # the row's own date in Arabic-Indic digits (int() reads them)
        new = date.decode().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")).encode()
    else:
        new = b"31/02/2015"
    lines[n] = line.replace(b"," + date + b",", b"," + new + b",")
    bad = tmp_path / FILES[0].name
    bad.write_bytes(b"\r\n".join(lines))
    r = imp(cli, files=[FILES[1], bad])
    assert r.code == 2 and r.err.startswith(f"error: {bad.name}:{n + 1}: ")
    assert repr(new.decode()) in r.err and "DD/MM/YYYY" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not db.exists()
    assert imp(cli, files=[FILES[1]]).code == 0
    before = snapshot(db)
    assert imp(cli, files=[FILES[2], bad]).code == 2
    assert snapshot(db) == before  # nothing imported, not even the good file


@pytest.mark.parametrize(
    ("value", "places"),
    [("²", None), ("٦", None), ("six", None), ("6.0", None), ("", None), ("07", 7)],
)
def test_places_other_than_ascii_digits_are_left_empty(  # type: ignore[no-untyped-def]
    cli, db: Path, tmp_path: Path, value: str, places: int | None
) -> None:
    """ "²" passes str.isdigit but not int(): it must not crash the import (exit 70), but be
    left empty like any other Places value that is not a number of places."""
    text = FILES[1].read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    col = rows[0].index("Places")
    urn = next(r[1] for r in rows[1:] if r and r[2].lower() in KEPT and r[col].isdigit())
    for r in rows:
        if r and r[1] == urn:
            r[col] = value
    bad = tmp_path / FILES[1].name
    with bad.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    r = imp(cli, files=[bad])
    assert r.code == 0, r.err
    homes = {h["urn"]: h for h in cli("homes", "--format", "json").json()["items"]}
    assert homes[urn]["places"] == places
    assert sum(h["places"] is not None for h in homes.values()) > 1  # the others are read


def test_csv_format_is_refused_in_one_line_before_anything_is_read(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    # the summary is a report (per file: counts and skip reasons), like 'why': table or json
    for args in (["--format", "csv"], ["-f", "csv", "--dry-run"]):
        r = imp(cli, *args)
        assert r.code == 2 and r.out == "" and not db.exists()
        assert r.err == (
            "error: --format csv: the import summary is not a listing; use --format table or json\n"
        )
    assert imp(cli, files=[FILES[0]]).code == 0
    before = snapshot(db)
    assert imp(cli, "--format", "csv", files=FILES[1:]).code == 2
    assert snapshot(db) == before
    assert "<table|json>" in cli("import", "ofsted", "--help").out


def test_missing_file_is_a_clear_error(cli, db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = imp(cli, files=[tmp_path / "nope.csv"])
    assert r.code == 2 and "nope.csv" in r.err and "Traceback" not in r.err


def test_no_progress_bar_off_a_terminal_and_a_readable_summary(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    r = imp(cli)
    assert r.code == 0 and r.err == ""
    assert "provider-level-in-year-2014-15.csv:" in r.out and "total:" in r.out
    assert "provision type: Independent Fostering Agency" in r.out


def raw_provisions() -> dict[str, list[str]]:
    """Per file, the provision type of every data row, as published (csv only)."""
    out = {}
    for y, path in zip(YEARS, FILES, strict=True):
        b = path.read_bytes()
        try:
            text = b.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = b.decode("cp1252")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        head = next(i for i, r in enumerate(rows) if r and r[0] == "Web link")
        pt = rows[head].index("Provision type")
        out[y] = [r[pt] for r in rows[head + 1 :] if any(r)]
    return out


def test_skip_reasons_that_differ_only_in_case_are_counted_once(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    provisions = raw_provisions()
    # the excerpts hold both spellings Ofsted has used (2015-16 writes it in lower case)
    spellings = {
        p for ps in provisions.values() for p in ps if p.lower() == "secure training centre"
    }
    assert spellings == {"Secure Training Centre", "Secure training centre"}
    stc = sum(p.lower() == "secure training centre" for ps in provisions.values() for p in ps)
    report = imp(cli, "--dry-run", "--format", "json").json()
    total = report["total"]["skipped"]
    keys = [k for k in total if k.lower() == "provision type: secure training centre"]
    # one reason, in the spelling most rows use, with every row of either spelling
    assert keys == ["provision type: Secure Training Centre"] and total[keys[0]] == stc
    assert len({k.lower() for k in total}) == len(total)
    assert sum(total.values()) == sum(f["data_rows"] - f["kept_rows"] for f in report["files"])
    # each file still shows the spelling it uses
    for f, y in zip(report["files"], YEARS, strict=True):
        mine = {p for p in provisions[y] if p.lower() == "secure training centre"}
        assert {k for k in f["skipped"] if k.lower() == keys[0].lower()} == {
            f"provision type: {p}" for p in mine
        }
    text = imp(cli, "--dry-run").out.splitlines()
    tail = text[next(i for i, ln in enumerate(text) if ln.startswith("total:")) :]
    assert [ln.split(None, 1) for ln in tail if "raining" in ln] == [
        [str(stc), "provision type: Secure Training Centre"]
    ]


def test_merging_skip_reasons_does_not_depend_on_file_order() -> None:
    from compliance.ofsted import merge_reasons

    a = [("provision type: Secure Training Centre", 3), ("provision type: CAFCASS", 1)]
    b = [("provision type: Secure training centre", 2), ("provision type: Boarding School", 5)]
    want = {
        "provision type: Boarding School": 5,
        "provision type: Secure Training Centre": 5,
        "provision type: CAFCASS": 1,
    }
    assert merge_reasons(a + b) == merge_reasons(b + a) == want
    assert list(merge_reasons(a + b)) == list(want)  # most rows first, then by label
    # on a tie the label is the first spelling in sort order, whichever file came first
    tie = [("x: Secure training centre", 2), ("x: Secure Training Centre", 2)]
    assert merge_reasons(tie) == merge_reasons(tie[::-1]) == {"x: Secure Training Centre": 4}


def test_decoding_and_labels() -> None:
    from compliance.ofsted import EMERGENCY, EVENT_TYPES, _norm, decode

    assert decode(b"\xef\xbb\xbfWeb link") == "Web link"
    assert decode(b"SC \x96 Emergency inspection") == "SC \u2013 Emergency inspection"
    assert EVENT_TYPES[_norm("SC \u2013 Emergency inspection")] == EMERGENCY
    assert _norm(" Inspection  Date\ufeff") == "inspection date"


def test_since_sets_tracking_start_of_created_homes(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert imp(cli, "--since", "2024-04-01").code == 0
    homes = cli("homes", "--format", "json").json()["items"]
    assert {h["since"] for h in homes} == {"2024-04-01"}
    assert imp(cli, "--since", "2024-13-01").code == 2


def test_a_bad_since_is_refused_naming_since(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    for bad in ("garbage", "2024-13-01"):
        r = imp(cli, "--since", bad)
        assert r.code == 2 and not db.exists()
        assert r.err.strip() == f"error: --since: {bad!r} is not a date (expected YYYY-MM-DD)"
        assert "--as-of" not in r.err


def test_record_only_rule_owes_nothing(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    from compliance import engine
    from compliance.engine import Query
    from compliance.model import Event, History, Home
    from compliance.rules import builtin

    rule = builtin().rules["ofsted-other"]
    assert rule.cadence.kind == "record"
    h = Home("h", "H", "england", secure=False)
    hist = History.of([Event("e1", "h", rule.key, dt.date(2020, 5, 1))])
    q = Query(dt.date(2026, 1, 1), dt.date(2027, 1, 1), closed=True, explain=True)
    assert engine.compute(h, rule, hist, q, since=dt.date(2019, 1, 1)) == []
    assert imp(cli, files=[FILES[-1]]).code == 0
    home = cli("homes", "--format", "json").json()["items"][0]["id"]
    r = cli("record", home, "ofsted-monitoring", "--date", "2024-05-02", "--as-of", AS_OF)
    assert r.code == 0 and "ofsted-other" in r.out
    due = cli("due", "--as-of", AS_OF, "--days", "3650", "--format", "json").json()["items"]
    hist_items = cli("history", home, "--as-of", AS_OF, "--format", "json").json()["items"]
    assert due and not any(i["rule"] == "ofsted-other" for i in due + hist_items)
    listed = {r["key"]: r for r in cli("rules", "--format", "json").json()["items"]}
    assert listed["ofsted-other"]["cadence"] == "on record only: creates no obligation"


def test_import_leaves_the_pending_index_up_to_date(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    from compliance import service
    from compliance.service import Network
    from compliance.store import open_store

    assert imp(cli).code == 0
    net = Network.open(open_store(db, create=False))
    assert net.store.unindexed_homes() == []
    assert net.store.index_fingerprint() == service.index_fingerprint(net)
    day = dt.date(2024, 3, 1)
    assert [i.as_dict() for i in service.due(net, day, 60)] == [
        i.as_dict() for i in service.due(net, day, 60, use_index=False)
    ]

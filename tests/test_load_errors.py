"""Bad fixtures: one line naming file, line and field; exit 2; the database is left as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

GOOD_HEAD = """schema = 1
[[homes]]
id = "northgate"
name = "Northgate House"
nation = "england"
since = 2026-01-01
"""

CASES = [
    # (fixture text, expected line, expected field fragment, message fragment)
    (  # quoted, a date is text to TOML (and fromisoformat would read a week date)
        GOOD_HEAD + '\n[[homes]]\nid = "b"\nname = "x"\nnation = "england"\nsince = "2026-01-01"\n',
        12,
        "homes[1].since",
        "not a date",
    ),
    (
        GOOD_HEAD + '\n[[actions]]\nhome = "northgate"\ntitle = "t"\ndue = "2026-W01-1"\n',
        11,
        "actions[0].due",
        "not a date",
    ),
    (
        GOOD_HEAD
        + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-01-05\ncolour = "red"\n',
        12,
        "events[0].colour",
        "unknown key",
    ),
    (
        GOOD_HEAD + '\n[[events]]\nhome = "nowhere"\nrule = "reg44-visit"\ndate = 2026-01-05\n',
        9,
        "events[0].home",
        "unknown home 'nowhere'",
    ),
    (
        GOOD_HEAD + '\n[[events]]\nhome = "northgate"\nrule = "reg44-vist"\ndate = 2026-01-05\n',
        10,
        "events[0].rule",
        "did you mean 'reg44-visit'",
    ),
    (
        GOOD_HEAD + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-02-30\n',
        11,
        "",
        "not valid TOML",
    ),
    (
        GOOD_HEAD + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = "2026-02-30"\n',
        11,
        "events[0].date",
        "not a date",
    ),
    (
        GOOD_HEAD + '\n[[homes]]\nid = "northgate"\nname = "Again"\nnation = "england"\n',
        9,
        "homes[1].id",
        "duplicate home id",
    ),
    (
        GOOD_HEAD + '\n[[homes]]\nid = "Bad Id"\nname = "x"\nnation = "england"\n',
        9,
        "homes[1].id",
        "lower-case",
    ),
    (
        GOOD_HEAD + '\n[[homes]]\nid = "b"\nname = "x"\nnation = "france"\n',
        11,
        "homes[1].nation",
        "not one of",
    ),
    (
        GOOD_HEAD + '\n[[homes]]\nid = "b"\nnation = "wales"\n',
        8,
        "homes[1]",
        "missing required key 'name'",
    ),
    (
        GOOD_HEAD
        + '\n[[events]]\nhome = "northgate"\nrule = "licence-renewal"\ndate = 2026-01-05\nexpires = 2025-01-01\n',
        12,
        "events[0].expires",
        "expires",
    ),
    (
        GOOD_HEAD + '\n[[actions]]\nhome = "northgate"\ntitle = "x"\n',
        8,
        "actions[0]",
        "missing required key 'due'",
    ),
    ("schema = 2\n", 1, "schema", "unsupported schema"),
    ('[network]\nname = "x"\n', 1, "schema", "missing"),
    ("schema = 1\nhomez = 1\n", 2, "homez", "did you mean 'homes'"),
    (  # as 'compliance record' refuses it: Wales's responsible individual, an English home
        GOOD_HEAD + '\n[[events]]\nhome = "northgate"\nrule = "ri-visit"\ndate = 2026-01-05\n',
        10,
        "events[0].rule",
        "does not apply to northgate (wales only)",
    ),
    (  # C6: local times the clock change skips or repeats are refused, as by record --at
        GOOD_HEAD
        + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-03-29T01:30:00\n',
        11,
        "events[0].date",
        "does not exist in Europe/London",
    ),
    (
        GOOD_HEAD
        + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-10-25T01:30:00\n',
        11,
        "events[0].date",
        "happens twice in Europe/London",
    ),
    (  # waivers must name an occurrence that exists, as 'compliance waive' requires
        GOOD_HEAD
        + '\n[[waivers]]\noccurrence = "northgate/reg44-visit/2026-13"\nreason = "x"\ndate = 2026-02-01\n',
        9,
        "waivers[0].occurrence",
        "is not a period of reg44-visit",
    ),
    (
        GOOD_HEAD
        + '\n[[homes]]\nid = "w"\nname = "W"\nnation = "wales"\nsince = 2026-01-01\n'
        + '\n[[waivers]]\noccurrence = "w/reg44-visit/2026-10"\nreason = "x"\ndate = 2026-11-01\n',
        15,
        "waivers[0].occurrence",
        "does not apply to w",
    ),
    (  # tracking from 2026-01-01: the first review is due 2026-07-01, not the 2nd
        GOOD_HEAD
        + '\n[[waivers]]\noccurrence = "northgate/reg45-review/2026-07-02"\nreason = "x"\ndate = 2026-08-01\n',
        9,
        "waivers[0].occurrence",
        "no occurrence",
    ),
    (  # a correction names the event it corrects: at its own line and field
        GOOD_HEAD
        + '\n[[events]]\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-01-05\nsupersedes = "nowhere"\n',
        12,
        "events[0].supersedes",
        "no event 'nowhere' to supersede",
    ),
    (
        GOOD_HEAD + "\nhomez = 1\n",
        8,
        "homes[0].homez",
        "unknown key",
    ),  # TOML: it belongs to the home
]


def _digest(db: Path) -> str:
    import sqlite3

    con = sqlite3.connect(db)
    rows = []
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        rows.append((name, con.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()))
    con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.mark.parametrize(("text", "line", "field", "fragment"), CASES)
def test_bad_fixture(
    cli, db: Path, tmp_path: Path, text: str, line: int, field: str, fragment: str
) -> None:  # type: ignore[no-untyped-def]
    assert cli("load", str(DATA / "small.toml")).code == 0
    before = _digest(db)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    res = cli("load", str(bad))
    assert res.code == 2, (res.out, res.err)
    err = res.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {bad}:{line}: {field}"), err
    assert fragment in err
    assert _digest(db) == before


def test_a_bad_file_among_good_ones_writes_nothing(cli, db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.toml"
    good.write_text(GOOD_HEAD, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'schema = 1\n[[events]]\nhome = "northgate"\nrule = "nope"\ndate = 2026-01-01\n',
        encoding="utf-8",
    )
    res = cli("load", str(good), str(bad))
    assert res.code == 2 and f"{bad}:4" in res.err
    assert not db.exists() or _digest_homes(db) == []


def _digest_homes(db: Path) -> list[tuple[str]]:
    import sqlite3

    return sqlite3.connect(db).execute("SELECT id FROM homes").fetchall()


def test_unreadable_inputs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("load", str(tmp_path / "missing.toml"))
    assert res.code == 2 and "no such file" in res.err
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"schema = 1\n\xff\xfe\n")
    res = cli("load", str(binary))
    assert res.code == 2 and f"{binary}:2" in res.err and "UTF-8" in res.err


def test_load_is_idempotent(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("load", str(DATA / "small.toml")).code == 0
    before = _digest(db)
    res = cli("load", str(DATA / "small.toml"))
    assert res.code == 0 and "nothing new" in res.out
    assert _digest(db) == before


def test_a_recorded_event_reloaded_with_other_content_is_refused(
    cli, db: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The log is append-only: a file whose event keeps its id but changes its date is an error
    (it was skipped silently, so the database and the file disagreed), not an edit."""
    first = tmp_path / "visits.toml"
    first.write_text(
        GOOD_HEAD
        + '\n[[events]]\nid = "v1"\nhome = "northgate"\nrule = "reg44-visit"\ndate = 2026-10-31\n',
        encoding="utf-8",
    )
    assert cli("load", str(first)).code == 0
    before = _digest(db)
    assert cli("load", str(first)).code == 0 and _digest(db) == before  # the same: nothing
    first.write_text(first.read_text().replace("2026-10-31", "2026-11-01"), encoding="utf-8")
    res = cli("load", str(first))
    assert res.code == 2, res.err
    assert res.err.startswith(f"error: {first}:9: events[0].id"), res.err
    assert "another date ('2026-10-31')" in res.err and "supersedes = 'v1'" in res.err
    assert _digest(db) == before

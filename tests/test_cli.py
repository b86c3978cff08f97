"""The CLI as users script it: load, due, record, why, waive, actions, history, export."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from freezegun import freeze_time

DATA = Path(__file__).parent / "data"


def items(res) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(i["id"], i["due"], i["status"]) for i in res.json()["items"]]


def test_due_json_shape_and_local_time_bucketing(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("load", str(DATA / "small.toml")).code == 0
    res = cli(
        "due",
        "--as-of",
        "2026-04-10",
        "--days",
        "0",
        "--home",
        "northgate",
        "--rule",
        "reg44-visit",
        "--format",
        "json",
    )
    assert res.code == 0, res.err
    data = res.json()
    assert data["schema_version"] == 1 and data["as_of"] == "2026-04-10" and data["days"] == 0
    # January visited; February and March missed (the 23:30 UTC visit on 31 March is 1 April in London)
    assert items(res) == [
        ("northgate/reg44-visit/2026-02", "2026-02-28", "overdue"),
        ("northgate/reg44-visit/2026-03", "2026-03-31", "overdue"),
    ]
    first = data["items"][0]
    assert set(first) == {
        "id",
        "home",
        "home_name",
        "rule",
        "title",
        "window_start",
        "due",
        "status",
        "days_left",
        "source",
        "basis",
    }
    assert (
        first["days_left"] == -41
        and first["basis"] == "statute"
        and first["home_name"] == "Northgate House"
    )


def test_due_horizon_and_ordering(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    res = cli("due", "--as-of", "2026-11-22", "--days", "30", "--format", "json")
    got = res.json()["items"]
    assert [i["due"] for i in got] == sorted(i["due"] for i in got)
    assert all(i["due"] <= "2026-12-22" for i in got)
    by_id = {i["id"]: i for i in got}
    assert "northgate/reg45-review/2027-02-28" not in by_id  # beyond the 30-day horizon
    assert by_id["tyddyn/ri-visit/2026-05-28"]["status"] == "overdue"
    assert (
        by_id[
            "northgate/action/" + next(i["id"].split("/")[2] for i in got if i["rule"] == "action")
        ]["status"]
        == "overdue"
    )
    assert not any(
        i["home"] == "tyddyn" and i["rule"].startswith("reg44") for i in got
    )  # Wales has no Reg 44


def test_csv_and_table(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    csv = cli("due", "--as-of", "2026-04-10", "--format", "csv").out.splitlines()
    assert csv[0] == "due,days,status,home,rule,title,id"
    table = cli("due", "--as-of", "2026-04-10").out
    assert "overdue" in table and "\x1b[" not in table  # NO_COLOR respected


def test_record_then_due_changes(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    before = items(
        cli(
            "due",
            "--as-of",
            "2026-04-10",
            "--rule",
            "reg44-visit",
            "--home",
            "northgate",
            "--format",
            "json",
        )
    )
    assert ("northgate/reg44-visit/2026-02", "2026-02-28", "overdue") in before
    res = cli(
        "record",
        "northgate",
        "reg44-visit",
        "--date",
        "2026-02-27",
        "--by",
        "IV-2",
        "--as-of",
        "2026-04-10",
    )
    assert res.code == 0 and "Recorded reg44-visit" in res.out
    again = cli(
        "record",
        "northgate",
        "reg44-visit",
        "--date",
        "2026-02-27",
        "--by",
        "IV-2",
        "--as-of",
        "2026-04-10",
    )
    assert again.code == 0 and "Already recorded" in again.out
    after = items(
        cli(
            "due",
            "--as-of",
            "2026-04-10",
            "--rule",
            "reg44-visit",
            "--home",
            "northgate",
            "--format",
            "json",
        )
    )
    assert ("northgate/reg44-visit/2026-02", "2026-02-28", "overdue") not in after


def test_record_at_is_bucketed_in_london(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    cli(
        "record",
        "northgate",
        "reg44-visit",
        "--at",
        "2026-02-28T23:30:00Z",
        "--as-of",
        "2026-04-10",
    )
    # 28 February 23:30 UTC is still 28 February in London (GMT): February is covered
    got = items(
        cli(
            "due",
            "--as-of",
            "2026-04-10",
            "--rule",
            "reg44-visit",
            "--home",
            "northgate",
            "--format",
            "json",
        )
    )
    assert [g[0] for g in got] == ["northgate/reg44-visit/2026-03"]


def test_why_explains(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    res = cli("why", "northgate/reg45-review/2027-02-28", "--as-of", "2026-11-22")
    assert res.code == 0, res.err
    assert "reg 45(1)-(3)" in res.out and "statute" in res.out
    assert "2026-08-31 + 6 calendar months = 2027-02-28" in res.out and "clamped" in res.out
    js = cli(
        "why", "northgate/reg44-visit/2026-03", "--as-of", "2026-04-10", "--format", "json"
    ).json()
    assert js["item"]["status"] == "overdue" and any("2026-03-31" in s for s in js["steps"])
    assert any(
        e["at"] == "2026-03-31T23:30:00Z" and e["date"] == "2026-04-01" for e in js["events"]
    )


def test_waive_closes_with_reason(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    res = cli(
        "waive",
        "northgate/reg44-visit/2026-02",
        "--reason",
        "Visitor post vacant",
        "--as-of",
        "2026-04-10",
    )
    assert res.code == 0, res.err
    got = items(
        cli(
            "due",
            "--as-of",
            "2026-04-10",
            "--rule",
            "reg44-visit",
            "--home",
            "northgate",
            "--format",
            "json",
        )
    )
    assert [g[0] for g in got] == ["northgate/reg44-visit/2026-03"]
    hist = cli(
        "history", "northgate", "--rule", "reg44-visit", "--as-of", "2026-04-10", "--format", "json"
    ).json()
    assert {
        "id": "northgate/reg44-visit/2026-02",
        "status": "waived",
        "reason": "Visitor post vacant",
    }.items() <= next(
        i for i in hist["items"] if i["id"] == "northgate/reg44-visit/2026-02"
    ).items()
    assert (
        cli(
            "waive", "northgate/reg44-visit/2026-02", "--reason", "again", "--as-of", "2026-04-10"
        ).code
        == 2
    )
    assert (
        cli("waive", "northgate/reg44-visit/2026-03", "--reason", " ", "--as-of", "2026-04-10").code
        == 2
    )


def test_actions(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    res = cli(
        "action",
        "add",
        "northgate",
        "Fix the fire door",
        "--due",
        "2026-12-01",
        "--owner",
        "Maintenance",
        "--as-of",
        "2026-11-01",
    )
    assert res.code == 0, res.err
    listing = cli("action", "list", "--as-of", "2026-11-01", "--format", "json").json()["items"]
    new = next(a for a in listing if a["title"] == "Fix the fire door")
    assert new["status"] == "upcoming" and new["owner"] == "Maintenance"
    assert (
        cli("action", "done", new["id"], "--date", "2026-11-20", "--as-of", "2026-11-22").code == 0
    )
    assert cli("action", "done", new["id"], "--as-of", "2026-11-22").code == 2  # already closed
    open_ids = [
        a["id"]
        for a in cli("action", "list", "--as-of", "2026-11-22", "--format", "json").json()["items"]
    ]
    assert new["id"] not in open_ids
    all_ = cli("action", "list", "--all", "--as-of", "2026-11-22", "--format", "json").json()[
        "items"
    ]
    assert next(a for a in all_ if a["id"] == new["id"])["status"] == "done"
    assert cli("action", "done", "a-nope", "--as-of", "2026-11-22").code == 3


def test_correction_supersedes_never_edits(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    ev = cli("history", "northgate", "--events", "--format", "json").json()["items"]
    review = next(e for e in ev if e["rule"] == "reg45-review")
    res = cli(
        "record",
        "northgate",
        "reg45-review",
        "--date",
        "2026-08-20",
        "--corrects",
        review["id"],
        "--as-of",
        "2026-11-22",
    )
    assert res.code == 0, res.err
    ev2 = cli("history", "northgate", "--events", "--format", "json").json()["items"]
    assert len(ev2) == len(ev) + 1
    assert next(e for e in ev2 if e["id"] == review["id"])["superseded"] is True
    got = {
        i["id"]
        for i in cli(
            "due",
            "--as-of",
            "2026-11-22",
            "--days",
            "120",
            "--rule",
            "reg45-review",
            "--format",
            "json",
        ).json()["items"]
    }
    assert got == {"northgate/reg45-review/2027-02-20"}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["due", "--as-of", "2026-13-01"], 2, "--as-of"),
        (["due", "--home", "nowhere"], 3, "no home 'nowhere'"),
        (["due", "--rule", "reg44-vist"], 2, "did you mean 'reg44-visit'"),
        (["why", "northgate"], 2, "HOME/RULE/PERIOD"),
        (["why", "northgate/reg44-visit/2025-06", "--as-of", "2026-04-10"], 3, "no occurrence"),
        (
            ["record", "northgate", "reg44-visit", "--date", "2030-01-01", "--as-of", "2026-04-10"],
            2,
            "after today",
        ),
        (["record", "northgate", "reg44-visit", "--date", "2026-02-30"], 2, "not a date"),
        (
            ["record", "tyddyn", "reg44-visit", "--date", "2026-02-01", "--as-of", "2026-04-10"],
            2,
            "does not apply",
        ),
        (
            [
                "record",
                "northgate",
                "reg44-visit",
                "--expires",
                "2027-01-01",
                "--as-of",
                "2026-04-10",
            ],
            2,
            "approvals",
        ),
        (["due", "--days", "-3"], 2, ""),
    ],
)
def test_bad_input_is_one_line_and_exit_code(cli, args: list[str], code: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    res = cli(*args)
    assert res.code == code, (res.out, res.err)
    assert "Traceback" not in res.err
    if needle:
        assert needle in res.err
        assert len(res.err.strip().splitlines()) == 1


def test_missing_database_says_what_to_do(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("due", db_path=tmp_path / "none.db")
    assert res.code == 4 and "compliance init" in res.err
    assert not (tmp_path / "none.db").exists()


def test_database_is_owner_only_and_in_wal_mode(cli, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--name", "Test").code == 0
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT version, name FROM migrations").fetchall()[0][0] == 1


def test_db_from_environment(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COMPLIANCE_DB", str(tmp_path / "env.db"))
    assert cli("init", db_path=None).code == 0
    assert (tmp_path / "env.db").exists()


def test_default_db_in_user_data_dir(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", db_path=None).code == 0
    assert (tmp_path / "xdg-data" / "compliance" / "compliance.db").exists()


@freeze_time("2026-04-10 23:30:00")  # 00:30 BST on 11 April: today is the 11th in London
def test_as_of_defaults_to_today_in_london(cli) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    data = cli("due", "--format", "json").json()
    assert data["as_of"] == "2026-04-11"


def test_export_then_load_gives_identical_due(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(DATA / "small.toml"))
    cli("record", "northgate", "reg44-visit", "--date", "2026-05-05", "--as-of", "2026-06-01")
    cli(
        "waive", "northgate/reg44-visit/2026-02", "--reason", "Vacant post", "--as-of", "2026-06-01"
    )
    out = tmp_path / "export.toml"
    assert cli("export", "--output", str(out)).code == 0
    other = tmp_path / "other.db"
    assert cli("load", str(out), db_path=other).code == 0
    for as_of in ("2026-06-01", "2026-11-22"):
        a = cli("due", "--as-of", as_of, "--days", "90", "--format", "json").out
        b = cli("due", "--as-of", as_of, "--days", "90", "--format", "json", db_path=other).out
        assert a == b
    assert json.loads(a)["items"]


def test_help_has_examples(cli) -> None:  # type: ignore[no-untyped-def]
    for cmd in (
        "due",
        "record",
        "why",
        "waive",
        "load",
        "history",
        "export",
        "demo",
        "init",
        "homes",
        "rules",
        "overdue",
    ):
        res = cli(cmd, "--help", db_path=None)
        assert res.code == 0 and "Example" in res.out, cmd


def test_export_file_is_private_and_written_whole(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    assert cli("demo", "--as-of", "2026-11-22").code == 0
    out = tmp_path / "export.toml"
    r = cli("export", "--output", str(out))
    assert r.code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # the whole database: owner only
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export.toml.")]
    assert (
        out.read_text(encoding="utf-8").startswith("schema = 1") or "schema = 1" in out.read_text()
    )


def test_load_takes_several_files_in_any_order(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Events in one file, their homes in another: the order they are named in does not matter."""
    from pathlib import Path

    split = Path(__file__).parent / "data" / "check" / "split"
    answers = []
    for n, files in enumerate(
        (
            [split / "homes.toml", split / "events.toml"],
            [split / "events.toml", split / "homes.toml"],
        )
    ):
        db = tmp_path / f"{n}.db"
        res = cli("load", *map(str, files), db_path=db)
        assert res.code == 0, res.err
        answers.append(
            cli("due", "--as-of", "2026-11-01", "--days", "60", "--format", "json", db_path=db).out
        )
    assert answers[0] == answers[1]
    assert '"items": []' not in answers[0]


def test_tracking_starts_at_the_first_event_and_actions_keep_their_own_dates(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without 'since', tracking starts at the first event, not at an older action: a closed
    requirement from last year does not make a year of visits overdue. A home with only an open
    action (nothing recorded, no start date) still owes the action."""
    f = tmp_path / "start.toml"
    f.write_text(
        """schema = 1
[[homes]]
id = "newhome"
name = "New Home"
nation = "england"
secure = false

[[homes]]
id = "quiet"
name = "Quiet House"
nation = "england"
secure = false

[[events]]
home = "newhome"
rule = "reg44-visit"
date = 2026-04-15

[[actions]]
home = "newhome"
title = "Old requirement"
created = 2025-04-01
due = 2025-05-01
done = 2025-04-20

[[actions]]
home = "quiet"
title = "Fix the fire door"
created = 2026-03-01
due = 2026-04-10
"""
    )
    assert cli("load", str(f)).code == 0
    items = cli("due", "--as-of", "2026-04-20", "--format", "json").json()["items"]
    assert [(i["id"], i["status"]) for i in items if i["status"] == "overdue"] == [
        (next(i["id"] for i in items if i["home"] == "quiet"), "overdue")
    ]  # only the open action; newhome's months before April 2026 are not owed
    assert {i["rule"] for i in items if i["home"] == "newhome"} <= {"reg44-visit"}
    why = cli("why", next(i["id"] for i in items if i["home"] == "quiet"), "--as-of", "2026-04-20")
    assert why.code == 0 and "actions are owed from their own dates" in why.out

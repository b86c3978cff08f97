"""Pilot tests of the TUI: the flows an officer uses, asserted on the screen and on the database.

Time is injected (``as_of``/``clock``), never frozen around the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from compliance.demo import build_demo_db
from compliance.service import Network, due, record
from compliance.store import open_store
from compliance.tui.app import ComplianceApp
from compliance.tui.screens import HomeScreen, RecordForm, WaiveForm, WhyScreen

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo_db(path, AS_OF)
    return path


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    shutil.copy(demo_template, path)
    return path


def _net(path: Path) -> Network:
    return Network.open(open_store(path, create=False))


def table_keys(app: ComplianceApp, tid: str) -> list[str]:
    table = app.query_one(f"#{tid}", DataTable)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def cell_texts(app: ComplianceApp | HomeScreen, tid: str) -> list[list[str]]:
    table = app.query_one(f"#{tid}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def settle(app: ComplianceApp, pilot: object) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]


async def until(pilot: object, cond: object, what: str = "the screen to update") -> None:
    """Wait (up to 10 s) for a condition: a loaded CI machine can be slow to process keys."""
    for _ in range(200):
        if cond():  # type: ignore[operator]
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError(f"timed out waiting for {what}")


def select(app: ComplianceApp, tid: str, key: str) -> None:
    table = app.query_one(f"#{tid}", DataTable)
    table.move_cursor(row=table.get_row_index(key))


def test_today_lists_what_due_lists(demo: Path) -> None:
    expected = [it.occ for it in due(_net(demo), AS_OF, 30)]

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert table_keys(app, "today-table") == [o.id for o in expected if o.rule != "action"]
            rows = cell_texts(app, "today-table")
            first = next(o for o in expected if o.rule != "action")
            assert rows[0][0] == first.due.isoformat()
            assert rows[0][2] == {"overdue": "OVERDUE"}.get(first.status, first.status)
            n_over = sum(1 for o in expected if o.status == "overdue" and o.rule != "action")
            summary = str(app.query_one("#today-summary", Static).render())
            assert f"{n_over} OVERDUE" in summary
            title = str(app.query_one("#titlebar", Static).render())
            assert "as of 2026-11-23" in title

    asyncio.run(go())


def test_filter_by_state_and_home_then_clear(demo: Path) -> None:
    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            everything = table_keys(app, "today-table")
            await pilot.press("slash")
            assert app.query_one("#filter", Input).has_focus
            await pilot.press(*"state:overdue")
            await until(pilot, lambda: app.filter_words == [("state", "overdue")])
            over = table_keys(app, "today-table")
            assert over and len(over) < len(everything)
            assert all(r[2] == "OVERDUE" for r in cell_texts(app, "today-table"))
            await pilot.press("space", *"home:beacon")
            await until(pilot, lambda: ("home", "beacon") in app.filter_words)
            assert all(k.startswith("beacon-hill/") for k in table_keys(app, "today-table"))
            await pilot.press("enter")  # back to the table, filter kept
            await pilot.press("2")  # the homes tab filters too
            await until(pilot, lambda: app.query_one("#homes-table", DataTable).row_count > 0)
            assert table_keys(app, "homes-table") == ["beacon-hill"]
            await pilot.press("1", "escape")
            await until(pilot, lambda: not app.filter_words)
            assert table_keys(app, "today-table") == everything
            assert not app.query_one("#filter", Input).display

    asyncio.run(go())


def test_record_with_the_keyboard_writes_through_the_core(demo: Path) -> None:
    net = _net(demo)
    target = next(
        it.occ for it in due(net, AS_OF, 30) if it.rule.key == "reg45-review" and it.occ.is_open
    )

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            select(app, "today-table", target.id)
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, RecordForm)
            assert app.screen.query_one("#date", Input).value == "2026-11-23"
            await pilot.press("tab", *"RM", "tab", *"[bold]ref C-17[/bold]")
            await pilot.press("enter")
            await settle(app, pilot)
            assert not isinstance(app.screen, RecordForm)
            assert target.id not in table_keys(app, "today-table")

    asyncio.run(go())
    events = [e for e in net.store.events(target.home, target.rule) if e.date == AS_OF]
    assert len(events) == 1
    assert events[0].by == "RM" and events[0].notes == "[bold]ref C-17[/bold]"
    assert all(it.occ.id != target.id for it in due(net, AS_OF, 30))


def test_record_form_refuses_a_future_date_and_writes_nothing(demo: Path) -> None:
    net = _net(demo)
    before = net.store.counts()

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("r")
            await pilot.pause()
            box = app.screen.query_one("#date", Input)
            box.value = "2026-12-01"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RecordForm)
            error = str(app.screen.query_one("#form-error").render())
            assert "after today" in error
            box.value = "2026-02-30"
            await pilot.press("enter")
            await pilot.pause()
            assert "not a date" in str(app.screen.query_one("#form-error").render())
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, RecordForm)

    asyncio.run(go())
    assert net.store.counts() == before


def test_waive_asks_for_a_reason(demo: Path) -> None:
    net = _net(demo)
    target = next(it.occ for it in due(net, AS_OF, 30) if it.occ.status == "overdue")

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            select(app, "today-table", target.id)
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, WaiveForm)
            await pilot.press("enter")  # no reason
            await pilot.pause()
            assert "needs a reason" in str(app.screen.query_one("#form-error").render())
            await pilot.press(*"home closed for refurbishment")
            await pilot.press("enter")
            await settle(app, pilot)
            assert target.id not in table_keys(app, "today-table")

    asyncio.run(go())
    waivers = [e for e in net.store.events(target.home) if e.kind == "waiver"]
    assert [w.target for w in waivers] == [target.id]
    assert waivers[0].notes == "home closed for refurbishment"


def test_add_and_close_an_action(demo: Path) -> None:
    net = _net(demo)

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await pilot.press("4")
            await pilot.press("a")
            await pilot.pause()
            app.screen.query_one("#home", Input).value = "northgate"
            app.screen.query_one("#title", Input).value = "Review restraint records"
            app.screen.query_one("#due", Input).value = "2026-12-01"
            app.screen.query_one("#owner", Input).value = "Registered manager"
            await pilot.press("enter")
            await settle(app, pilot)
            keys = table_keys(app, "actions-table")
            new = [k for k in keys if k.startswith("northgate/action/")]
            rows = {r[4]: r for r in cell_texts(app, "actions-table")}
            assert "Review restraint records" in rows
            assert rows["Review restraint records"][5] == "Registered manager"
            aid = next(
                a.id
                for a in net.store.actions("northgate")
                if a.title == "Review restraint records"
            )
            assert f"northgate/action/{aid}" in new
            select(app, "actions-table", f"northgate/action/{aid}")
            await pilot.press("c")
            await pilot.pause()
            await pilot.press("enter")
            await settle(app, pilot)
            assert f"northgate/action/{aid}" not in table_keys(app, "actions-table")

    asyncio.run(go())
    closes = [e for e in net.store.events("northgate", "action") if e.target]
    assert any(e.date == AS_OF for e in closes)


def test_why_shows_the_explanation_of_the_selected_date(demo: Path) -> None:
    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            first = table_keys(app, "today-table")[0]
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, WhyScreen)
            text = str(app.screen.query_one("#why-text", Static).render())
            assert text.splitlines()[0] == first
            for part in ("Source:", "Basis:", "Events considered:", "Steps:", "Result:"):
                assert part in text
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, WhyScreen)

    asyncio.run(go())


def test_homes_calendar_and_home_screen(demo: Path) -> None:
    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("2")
            homes = cell_texts(app, "homes-table")
            assert len(homes) == 15
            assert {r[0] for r in homes} <= {"RED", "AMBER", "green"}
            assert homes[0][0] == "RED"  # worst first
            await pilot.press("3")
            await settle(app, pilot)
            cal = app.query_one("#calendar-table", DataTable)
            assert cal.row_count == 15 and len(cal.columns) == 13
            legend = str(app.query_one("#calendar-legend", Static).render())
            assert "2026-27" in legend and "missed" in legend
            beacon = cell_texts(app, "calendar-table")[
                table_keys(app, "calendar-table").index("beacon-hill")
            ]
            assert beacon[7].strip() == "MIS"  # October's visit was missed
            await pilot.press("2")
            select(app, "homes-table", "northgate")
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, HomeScreen)
            assert "Northgate House" in str(app.screen.query_one("#home-title", Static).render())
            assert app.screen.query_one("#h-obl", DataTable).row_count > 0
            assert app.screen.query_one("#h-hist", DataTable).row_count > 10
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HomeScreen)

    asyncio.run(go())


def test_changes_by_another_process_appear_without_restart(demo: Path) -> None:
    target = next(it.occ for it in due(_net(demo), AS_OF, 30) if it.rule.key == "reg45-review")

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF, poll_seconds=0.05)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert target.id in table_keys(app, "today-table")
            other = _net(demo)  # another connection: what the CLI does
            record(other, target.home, target.rule, when=AS_OF, as_of=AS_OF, by="CLI")
            for _ in range(40):
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
                if target.id not in table_keys(app, "today-table"):
                    break
            assert target.id not in table_keys(app, "today-table")

    asyncio.run(go())


def test_following_the_clock_rolls_over_to_a_new_day(demo: Path) -> None:
    day = [AS_OF]

    async def go() -> None:
        app = ComplianceApp(demo, clock=lambda: day[0], poll_seconds=0.05)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert "2026-11-23" in str(app.query_one("#titlebar", Static).render())
            day[0] = dt.date(2026, 12, 2)
            for _ in range(40):
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
                if app.loaded_as_of == day[0]:
                    break
            assert "2026-12-02" in str(app.query_one("#titlebar", Static).render())
            expected = [it.occ.id for it in due(_net(demo), day[0], 30) if it.rule.key != "action"]
            assert table_keys(app, "today-table") == expected

    asyncio.run(go())


def test_user_text_is_shown_literally_never_as_markup(tmp_path: Path) -> None:
    fixture = tmp_path / "net.toml"
    fixture.write_text(
        """schema = 1
[network]
name = "[red]Net[/red]"
[[homes]]
id = "odd"
name = "[bold]Odd[/bold] House [link=x]"
nation = "england"
since = 2026-10-01
"""
    )
    db = tmp_path / "odd.db"
    net = Network.open(open_store(db))
    from compliance.service import load

    load(net, [fixture])

    async def go() -> None:
        app = ComplianceApp(db, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            names = {r[3] for r in cell_texts(app, "today-table")}
            assert names == {"[bold]Odd[/bold] House [link=x]"}
            assert "[red]Net[/red]" in str(app.query_one("#titlebar", Static).render())

    asyncio.run(go())


def test_help_and_command_palette_offer_every_action(demo: Path) -> None:
    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            titles = {c.title for c in app.get_system_commands(app.screen)}
            for name in ("Record", "Waive", "Why", "Add action", "Close action", "Filter", "Help"):
                assert name in titles
            await pilot.press("question_mark")
            await pilot.pause()
            text = str(app.screen.query_one("#help-text", Static).render())
            for key in ("r ", "w ", "/ ", "ctrl+r", "q "):
                assert key in text
            await pilot.press("escape", "q")
            await pilot.pause()
        assert app.return_code == 0 or app.return_code is None

    asyncio.run(go())


def test_missing_database_is_a_one_line_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("tui", db_path=tmp_path / "nope.db")
    assert r.code == 4
    assert "no database" in r.err and "Traceback" not in r.err


def test_recording_a_missed_month_explains_periods_and_a_past_date_fills_it(demo: Path) -> None:
    net = _net(demo)
    target = next(
        it.occ
        for it in due(net, AS_OF, 30)
        if it.rule.key == "reg44-visit" and it.occ.status == "overdue"
    )

    async def go() -> None:
        app = ComplianceApp(demo, as_of=AS_OF)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            select(app, "today-table", target.id)
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, RecordForm))
            hint = str(app.screen.query_one(".hint", Static).render())
            assert f"ended on {target.due}" in hint and "waive" in hint
            app.screen.query_one("#date", Input).value = (
                target.due - dt.timedelta(days=3)
            ).isoformat()
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: target.id not in table_keys(app, "today-table"))

    asyncio.run(go())
    assert all(it.occ.id != target.id for it in due(net, AS_OF, 30))


def test_what_a_worker_finds_after_the_app_began_closing_is_dropped() -> None:
    """A load that finishes as the user quits must not touch widgets being removed (it raised
    NoMatches from show_board when it landed during the shutdown)."""
    from compliance.tui.screens import deliver

    shown: list[tuple[object, ...]] = []

    class Closing:
        is_running = False

        def call_from_thread(self, callback):  # type: ignore[no-untyped-def]
            return callback()

    deliver(Closing(), lambda *a, **k: shown.append((*a, k)), "board")  # type: ignore[arg-type]
    assert shown == []
    Closing.is_running = True
    deliver(Closing(), lambda *a, **k: shown.append((*a, k)), "board", severity="error")  # type: ignore[arg-type]
    assert shown == [("board", {"severity": "error"})]

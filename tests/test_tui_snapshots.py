"""Golden SVG screenshots of each screen at 80x24 on the demo network at a fixed date.

pytest-textual-snapshot needs pytest < 9 (see README), so these are plain golden files from
``App.export_screenshot()``. After a deliberate change, look at the new pictures first
(``rsvg-convert tests/snapshots/tui-today.svg -o /tmp/today.png``), then regenerate them with
``UPDATE_SNAPSHOTS=1 pytest tests/test_tui_snapshots.py`` and commit them with the change.
``SNAPSHOT_DUMP=DIR`` writes a picture that differs into DIR, to look at what changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from compliance.demo import build_demo_db
from compliance.tui.app import ComplianceApp

AS_OF = dt.date(2026, 11, 23)
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = bool(os.environ.get("UPDATE_SNAPSHOTS"))


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-snap") / "demo.db"
    build_demo_db(path, AS_OF)
    return path


async def _settle(app: ComplianceApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def _today(app: ComplianceApp, pilot: Pilot[None]) -> None:
    pass


async def _homes(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("2")


async def _calendar(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("3")


async def _actions(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("4")


async def _why(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("enter")


async def _record(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("down", "down", "r")


async def _help(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")


async def _home(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("o")


async def _filter(app: ComplianceApp, pilot: Pilot[None]) -> None:
    await pilot.press("slash", *"state:overdue")


SCREENS: dict[str, Callable[[ComplianceApp, Pilot[None]], Awaitable[None]]] = {
    "today": _today,
    "homes": _homes,
    "calendar": _calendar,
    "actions": _actions,
    "why": _why,
    "record": _record,
    "help": _help,
    "home": _home,
    "filter": _filter,
}


def shoot(db: Path, name: str) -> str:
    """The screen in colour (the rest of the suite runs with NO_COLOR, as in CI logs)."""

    async def go() -> str:
        # no live-reload poll: a reload landing mid-shot on a slow machine would make the
        # picture depend on timing (test_tui.py tests the reload)
        app = ComplianceApp(db, as_of=AS_OF, poll_seconds=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            await SCREENS[name](app, pilot)
            await _settle(app, pilot)
            for box in app.screen.query(Input):
                box.cursor_blink = False  # a blinking cursor would make the picture time-dependent
            await _settle(app, pilot)
            return app.export_screenshot(simplify=True)

    return asyncio.run(go())


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_its_reviewed_snapshot(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    db = tmp_path / "demo.db"
    shutil.copy(demo_template, db)
    monkeypatch.delenv("NO_COLOR", raising=False)
    svg = shoot(db, name)
    golden = SNAPSHOTS / f"tui-{name}.svg"
    if UPDATE or not golden.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        golden.write_text(svg, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote a new snapshot {golden.name}: review it, then commit it")
    if svg != golden.read_text(encoding="utf-8") and os.environ.get("SNAPSHOT_DUMP"):
        Path(os.environ["SNAPSHOT_DUMP"], f"tui-{name}.svg").write_text(svg, encoding="utf-8")
    assert svg == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs: look at both pictures; if the change is intended, "
        "rerun with UPDATE_SNAPSHOTS=1"
    )

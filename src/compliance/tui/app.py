"""The Textual app officers open every morning: Today, Homes, Calendar and Actions.

Database work runs in thread workers (each with its own connection); every write goes through
the core exactly as ``compliance record`` does. Time is injected: a fixed ``as_of`` (``--as-of``)
or a clock, so the app follows the date when it is left open overnight and tests are exact.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from ..errors import ComplianceError
from . import data
from .screens import (
    AddActionForm,
    CloseActionForm,
    HelpScreen,
    HomeScreen,
    RecordForm,
    WaiveForm,
    WhyScreen,
    deliver,
    obligation_cells,
)
from .style import cell_text, legend, rag_text, state_text

TABS = ("today", "homes", "calendar", "actions")
MAX_ROWS = 400


class ComplianceApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "compliance"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("slash", "filter", "Filter"),
        Binding("r", "record", "Record"),
        Binding("w", "waive", "Waive"),
        Binding("o", "open_home", "Home"),
        Binding("a", "add_action", "Add action"),
        Binding("c", "close_action", "Close action"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("1", "tab('today')", "Today", show=False),
        Binding("2", "tab('homes')", "Homes", show=False),
        Binding("3", "tab('calendar')", "Calendar", show=False),
        Binding("4", "tab('actions')", "Actions", show=False),
    ]

    def __init__(
        self,
        db_path: Path,
        *,
        as_of: dt.date | None = None,
        clock: Callable[[], dt.date] | None = None,
        days: int = 30,
        poll_seconds: float = 2.0,
    ) -> None:
        super().__init__()
        from ..clock import today

        self.db_path = Path(db_path)
        self.fixed_as_of = as_of
        self.clock = clock or today
        self.days = days
        self.poll_seconds = poll_seconds
        self.board: data.Board | None = None
        self.calendar: data.Calendar | None = None
        self.filter_words: list[tuple[str, str]] = []
        self.rows: dict[str, dict[str, data.Row]] = {"today": {}, "actions": {}}
        self.loaded_as_of: dt.date | None = None
        self.changes: data.ChangeWatch | None = None
        self.stale: set[str] = set()
        # For benchmarks: "shell" exits after the first paint (tabs, "Loading…"), any other
        # value after the first paint with the data.
        self.exit_after_paint = os.environ.get("COMPLIANCE_TUI_EXIT_AFTER_PAINT", "")

    @property
    def as_of(self) -> dt.date:
        return self.fixed_as_of or self.clock()

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("compliance", id="titlebar", classes="titlebar", markup=False)
        yield Input(
            placeholder="filter: words, home:ID rule:KEY state:overdue|due|upcoming (escape clears)",
            id="filter",
        )
        with TabbedContent(id="tabs", initial="today"):
            with TabPane("Today", id="today"):
                yield Static("Loading…", id="today-summary", markup=False)
                yield DataTable(id="today-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Homes", id="homes"):
                yield DataTable(id="homes-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Calendar", id="calendar"):
                yield Static("", id="calendar-legend")
                yield DataTable(id="calendar-table", cursor_type="row")
            with TabPane("Actions", id="actions"):
                yield DataTable(id="actions-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#today-table", DataTable).add_columns(
            "due", "days", "state", "home", "obligation"
        )
        self.query_one("#homes-table", DataTable).add_columns(
            "state", "home", "id", "kind", "overdue", "due soon", "next due", "next"
        )
        self.query_one("#actions-table", DataTable).add_columns(
            "due", "days", "state", "home", "action", "owner"
        )
        self.query_one("#calendar-legend", Static).update(legend())
        self._title()
        try:
            self.changes = data.ChangeWatch(self.db_path)
        except Exception:  # the loader reports a missing database properly
            self.changes = None
        if self.exit_after_paint == "shell":
            self.call_after_refresh(self.exit)
            return
        self.load_board()
        self.set_interval(self.poll_seconds, self._poll)

    def on_unmount(self) -> None:
        if self.changes is not None:
            self.changes.close()

    def _title(self, name: str = "") -> None:
        parts = [f"as of {self.as_of.isoformat()}", name or "compliance"]
        if self.filter_words:
            parts.append(
                "filter: " + " ".join(f"{k}:{v}" if k else v for k, v in self.filter_words)
            )
        self.query_one("#titlebar", Static).update(Text(" - ".join(p for p in parts if p)))

    # -- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="board")
    def load_board(self) -> None:
        as_of = self.as_of
        try:
            board = data.load_board(self.db_path, as_of, self.days)
        except ComplianceError as exc:
            deliver(self, self._load_failed, exc.message)
            return
        deliver(self, self.show_board, board)

    def _load_failed(self, message: str) -> None:
        self.query_one("#today-summary", Static).update(Text(f"Cannot load: {message}"))
        self.notify(message, severity="error", markup=False, timeout=10)

    def show_board(self, board: data.Board) -> None:
        self.board = board
        self.loaded_as_of = board.as_of
        self._title(board.network_name)
        self._refill()
        if self.query_one("#tabs", TabbedContent).active == "calendar" or self.calendar:
            self.load_calendar()
        if self.exit_after_paint:
            self.call_after_refresh(self.exit)

    def _refill(self) -> None:
        """Fill the visible table now and the others when they are first shown.

        A DataTable measures every cell it is given, so tables are capped at MAX_ROWS (most
        urgent first; the filter reaches the rest) and filled only when seen.
        """
        self.stale = {"today", "homes", "actions"}
        self._fill_visible()

    def _fill_visible(self) -> None:
        active = self._active()
        if self.board is None or active not in self.stale:
            return
        self.stale.discard(active)
        {"today": self._fill_today, "homes": self._fill_homes, "actions": self._fill_actions}[
            active
        ]()

    def _capped(self, rows: list[Any]) -> list[Any]:
        return rows[:MAX_ROWS]

    def _fill_today(self) -> None:
        assert self.board is not None
        rows = [r for r in self.board.today if r.matches(self.filter_words)]
        table = self.query_one("#today-table", DataTable)
        keep = table.cursor_row
        table.clear()
        self.rows["today"] = {}
        for r in self._capped(rows):
            self.rows["today"][r.id] = r
            table.add_row(*obligation_cells(r), key=r.id)
        if rows:
            table.move_cursor(row=min(max(keep, 0), min(len(rows), MAX_ROWS) - 1))
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("overdue", "due", "upcoming")}
        per_home: dict[str, int] = {}
        for r in rows:
            if r.status == "overdue":
                per_home[r.home_name] = per_home.get(r.home_name, 0) + 1
        worst = sorted(per_home.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        summary = Text()
        summary.append(f" {counts['overdue']} OVERDUE ", style="bold white on dark_red")
        summary.append(f"  {counts['due']} due  ", style="bold black on dark_orange")
        summary.append(f"  {counts['upcoming']} upcoming (next {self.board.days} days)")
        if worst:
            summary.append("   overdue by home: " + ", ".join(f"{h} {n}" for h, n in worst))
        if len(rows) > MAX_ROWS:
            summary.append(f"\nShowing the {MAX_ROWS} most urgent; filter (/) to see the rest.")
        if not rows:
            summary = Text(
                "Nothing overdue or due in the next "
                f"{self.board.days} days" + (" matching the filter." if self.filter_words else ".")
            )
        self.query_one("#today-summary", Static).update(summary)

    def _fill_homes(self) -> None:
        assert self.board is not None
        table = self.query_one("#homes-table", DataTable)
        keep = table.cursor_row
        table.clear()
        homes = [h for h in self.board.homes if h.matches(self.filter_words)]
        for h in self._capped(homes):
            table.add_row(
                rag_text(h.rag),
                Text(h.name),
                Text(h.id),
                Text(h.kind),
                Text(str(h.overdue)),
                Text(str(h.due_soon)),
                Text(h.next_due.isoformat() if h.next_due else "-"),
                Text(h.next_title),
                key=h.id,
            )
        if homes:
            table.move_cursor(row=min(max(keep, 0), min(len(homes), MAX_ROWS) - 1))
        if len(homes) > MAX_ROWS:
            self.notify(
                f"Showing the {MAX_ROWS} most urgent of {len(homes)} homes; filter (/) for the rest.",
                timeout=4,
            )

    def _fill_actions(self) -> None:
        assert self.board is not None
        table = self.query_one("#actions-table", DataTable)
        keep = table.cursor_row
        table.clear()
        self.rows["actions"] = {}
        rows = [r for r in self.board.actions if r.matches(self.filter_words)]
        for r in self._capped(rows):
            self.rows["actions"][r.id] = r
            table.add_row(
                Text(r.due.isoformat()),
                Text(f"{r.days_left:+d}"),
                state_text(r.status),
                Text(r.home_name),
                Text(r.title),
                Text(r.owner),
                key=r.id,
            )
        if rows:
            table.move_cursor(row=min(max(keep, 0), min(len(rows), MAX_ROWS) - 1))

    def load_calendar(self) -> None:
        self.query_one("#calendar-legend", Static).update(Text("Computing the inspection year…"))
        self._load_calendar()

    @work(thread=True, exclusive=True, group="calendar")
    def _load_calendar(self) -> None:
        try:
            cal = data.load_calendar(self.db_path, self.as_of)
        except ComplianceError as exc:
            deliver(self, self._load_failed, exc.message)
            return
        deliver(self, self.show_calendar, cal)

    def show_calendar(self, cal: data.Calendar) -> None:
        self.calendar = cal
        table = self.query_one("#calendar-table", DataTable)
        keep = table.cursor_row
        table.clear(columns=True)
        table.add_column("home", key="home")
        for m in cal.months:
            table.add_column(m.strftime("%b"), key=m.isoformat())
        words = self.filter_words
        shown = 0
        for hid, name, cells in cal.rows:
            if words and not all(v in f"{hid} {name}".lower() for _, v in words):
                continue
            if shown == MAX_ROWS:
                break
            table.add_row(Text(name[:16]), *(cell_text(c) for c in cells), key=hid)
            shown += 1
        legend_text = legend()
        legend_text.append(f"\nInspection year {cal.year}: obligations due in each month")
        self.query_one("#calendar-legend", Static).update(legend_text)
        if shown:
            table.move_cursor(row=min(max(keep, 0), shown - 1))

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "calendar" and self.calendar is None:
            self.load_calendar()
        self._fill_visible()
        self._focus_table()

    def _focus_table(self) -> None:
        active = self.query_one("#tabs", TabbedContent).active
        self.query_one(f"#{active}-table", DataTable).focus()

    def _poll(self) -> None:
        """Pick up writes by other processes, and a new day when following the clock."""
        changed = self.changes.changed() if self.changes is not None else False
        if changed or (self.loaded_as_of is not None and self.as_of != self.loaded_as_of):
            self.reload()

    def reload(self) -> None:
        self.load_board()
        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                screen.reload()

    # -- selection --------------------------------------------------------------------------------

    def _active(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    def _selected_key(self, tab: str) -> str | None:
        table = self.query_one(f"#{tab}-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def selected_row(self, tab: str | None = None) -> data.Row | None:
        tab = tab or self._active()
        if tab not in self.rows:
            return None
        key = self._selected_key(tab)
        return self.rows[tab].get(key) if key else None

    def selected_home(self) -> str | None:
        tab = self._active()
        if tab in ("homes", "calendar"):
            return self._selected_key(tab)
        row = self.selected_row(tab)
        return row.home if row else None

    # -- actions ----------------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        self._focus_table()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_words = data.parse_filter(event.value)
        self._refilter()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._focus_table()

    def _refilter(self) -> None:
        self._title(self.board.network_name if self.board else "")
        if self.board is not None:
            self._refill()
        if self.calendar is not None:
            self.show_calendar(self.calendar)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value:
            box.value = ""
        box.display = False
        self.filter_words = []
        self._refilter()
        self._focus_table()

    def action_reload(self) -> None:
        self.reload()
        self.notify("Reloaded", timeout=2)

    def _after_write(self, then: Callable[[], Any] | None = None) -> Callable[[str | None], None]:
        def done(message: str | None) -> None:
            if message:
                self.notify(message, markup=False, timeout=4)
                self.calendar = None if self._active() != "calendar" else self.calendar
                self.reload()
                if then is not None:
                    then()

        return done

    def open_record(self, row: data.Row, then: Callable[[], Any] | None = None) -> None:
        if row.is_action:
            self.open_close_action(row, then)
            return
        try:
            kind = data.cadence_kind(self.db_path, row.rule)
        except ComplianceError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        self.push_screen(RecordForm(self.db_path, self.as_of, row, kind), self._after_write(then))

    def open_waive(self, row: data.Row, then: Callable[[], Any] | None = None) -> None:
        self.push_screen(WaiveForm(self.db_path, self.as_of, row), self._after_write(then))

    def open_close_action(self, row: data.Row, then: Callable[[], Any] | None = None) -> None:
        self.push_screen(CloseActionForm(self.db_path, self.as_of, row), self._after_write(then))

    def open_why(self, oid: str) -> None:
        self._why(oid)

    @work(thread=True, exclusive=True, group="why")
    def _why(self, oid: str) -> None:
        try:
            text = data.load_why(self.db_path, oid, self.as_of)
        except ComplianceError as exc:
            deliver(self, self.notify, exc.message, severity="error", markup=False)
            return
        deliver(self, self.push_screen, WhyScreen(text))

    def _need_row(self) -> data.Row | None:
        row = self.selected_row()
        if row is None:
            self.notify("Select an obligation on Today or Actions first.", timeout=3)
        return row

    def action_record(self) -> None:
        row = self._need_row()
        if row is not None:
            self.open_record(row)

    def action_waive(self) -> None:
        row = self._need_row()
        if row is not None:
            self.open_waive(row)

    def action_why(self) -> None:
        row = self._need_row()
        if row is not None:
            self.open_why(row.id)

    def action_open_home(self) -> None:
        home = self.selected_home()
        if home:
            self.push_screen(HomeScreen(self.db_path, self.as_of, home))

    def action_add_action(self) -> None:
        self.push_screen(
            AddActionForm(self.db_path, self.as_of, self.selected_home() or ""),
            self._after_write(),
        )

    def action_close_action(self) -> None:
        row = self.selected_row("actions") if self._active() == "actions" else None
        if row is None:
            self.notify("Select an action on the Actions tab (4) first.", timeout=3)
            return
        self.open_close_action(row)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        tid = event.data_table.id
        if tid in ("today-table", "actions-table"):
            key = event.row_key.value
            if key:
                self.open_why(key)
        elif tid in ("homes-table", "calendar-table") and event.row_key.value:
            self.push_screen(HomeScreen(self.db_path, self.as_of, event.row_key.value))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Today", "Overdue and due soon (1)", lambda: self.action_tab("today"))
        yield SystemCommand(
            "Homes", "Every home, red/amber/green (2)", lambda: self.action_tab("homes")
        )
        yield SystemCommand(
            "Calendar", "Heat map of the inspection year (3)", lambda: self.action_tab("calendar")
        )
        yield SystemCommand("Actions", "Open actions (4)", lambda: self.action_tab("actions"))
        yield SystemCommand(
            "Record", "Record the selected obligation as met (r)", self.action_record
        )
        yield SystemCommand("Waive", "Waive the selected obligation (w)", self.action_waive)
        yield SystemCommand("Why", "Explain the selected date (enter)", self.action_why)
        yield SystemCommand("Open home", "Obligations, history, actions (o)", self.action_open_home)
        yield SystemCommand("Add action", "A dated action for a home (a)", self.action_add_action)
        yield SystemCommand(
            "Close action", "Close the selected action (c)", self.action_close_action
        )
        yield SystemCommand("Filter", "Filter by home, rule and state (/)", self.action_filter)
        yield SystemCommand("Clear filter", "Show everything (escape)", self.action_clear_filter)
        yield SystemCommand("Reload", "Reload from the database (ctrl+r)", self.action_reload)
        yield SystemCommand("Help", "Every key binding (?)", self.action_help)


def run(db_path: Path, as_of: dt.date | None) -> None:
    """Open the app (``compliance tui``); ``as_of`` None follows the clock."""
    from ..store import open_store

    # Fail before the screen takes over: a missing or foreign database is a one-line error.
    open_store(db_path, create=False).close()
    ComplianceApp(db_path, as_of=as_of).run()

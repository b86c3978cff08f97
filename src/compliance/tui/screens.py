"""Modal forms and secondary screens: record, waive, add/close an action, why, help, one home.

Text that users typed (names, notes) is always shown literally: ``Text`` objects or
``markup=False``, never parsed as markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static, TabbedContent, TabPane

from ..dates import parse_date
from ..errors import ComplianceError
from . import data
from .style import STATE_STYLE, state_text


def deliver(app: App[Any], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """From a worker thread: show what it found, unless the app has begun closing by then (a
    load that finishes as the user quits has nowhere to go: its widgets are being removed)."""

    def show() -> Any:
        # call_from_thread awaits what this returns, if it must (dismiss, push_screen)
        return fn(*args, **kwargs) if app.is_running else None

    app.call_from_thread(show)


def row(label: str, box: Input) -> Horizontal:
    """One form field on one line, so that a form fits 80x24."""
    return Horizontal(Label(label, markup=False), box, classes="row")


def _parse_optional_date(label: str, text: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise ValueError(f"{label}: {text!r} is not a date (YYYY-MM-DD)") from None


class Form(ModalScreen[str | None]):
    """A modal form: validated before it writes; the write goes through the core in a worker."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    TITLE_TEXT = ""

    def __init__(self, db_path: Path, as_of: dt.date) -> None:
        super().__init__()
        self.db_path = db_path
        self.as_of = as_of

    def fields(self) -> ComposeResult:
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(self.TITLE_TEXT, classes="form-title", markup=False)
            yield from self.fields()
            yield Label("", id="form-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def _save(self) -> None:
        try:
            job = self.validate_form()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.show_error("Saving…")
        self._write(job)

    def show_error(self, message: str) -> None:
        self.query_one("#form-error", Label).update(Text(message))

    def value(self, id_: str) -> str:
        return self.query_one(f"#{id_}", Input).value.strip()

    def validate_form(self) -> Callable[[], str]:
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="form-write")
    def _write(self, job: Callable[[], str]) -> None:
        try:
            message = job()
        except ComplianceError as exc:
            deliver(self.app, self.show_error, exc.message)
            return
        deliver(self.app, self.dismiss, message)


class RecordForm(Form):
    """Record that an obligation was met (``r``): the same write as ``compliance record``."""

    def __init__(self, db_path: Path, as_of: dt.date, row: data.Row, kind: str) -> None:
        super().__init__(db_path, as_of)
        self.row = row
        self.expiry = kind == "expiry"
        self.TITLE_TEXT = f"Record {row.rule} for {row.home_name} ({row.home})"
        self.hint = ""
        if kind == "period" and row.status == "overdue":
            self.hint = (
                f"{row.id} ended on {row.due}. An event counts in the period of its date: if it "
                "happened then, give that date; if it was missed, waive it (w) with a reason."
            )

    def fields(self) -> ComposeResult:
        if self.hint:
            yield Static(self.hint, classes="hint", markup=False)
        yield row("Date", Input(self.as_of.isoformat(), placeholder="YYYY-MM-DD", id="date"))
        yield row(
            "By", Input(placeholder="who did it (a role or name of staff, never a child)", id="by")
        )
        yield row(
            "Notes", Input(placeholder="optional; use references, never a child's name", id="notes")
        )
        yield row(
            "Evidence", Input(placeholder="optional path or URL of the report", id="evidence")
        )
        yield row(
            "Outcome", Input(placeholder="optional, e.g. an inspection judgement", id="outcome")
        )
        if self.expiry:
            yield row(
                "Expires", Input(placeholder="YYYY-MM-DD, the date on the approval", id="expires")
            )

    def validate_form(self) -> Callable[[], str]:
        day = _parse_optional_date("Date", self.value("date"))
        if day is None:
            raise ValueError("Date: give the date it happened (YYYY-MM-DD)")
        if day > self.as_of:
            raise ValueError(f"Date: {day} is after today ({self.as_of}); record what has happened")
        expires = _parse_optional_date("Expires", self.value("expires")) if self.expiry else None
        if expires is not None and expires <= day:
            raise ValueError(f"Expires: {expires} is not after the grant date {day}")
        by, notes, evidence, outcome = (
            self.value(k) or None for k in ("by", "notes", "evidence", "outcome")
        )
        row, path, as_of = self.row, self.db_path, self.as_of
        return lambda: data.do_record(
            path,
            row.home,
            row.rule,
            day,
            as_of,
            by=by,
            notes=notes,
            evidence=evidence,
            outcome=outcome,
            expires=expires,
        )


class WaiveForm(Form):
    """Waive an occurrence (``w``): it closes as waived, with the reason on record."""

    def __init__(self, db_path: Path, as_of: dt.date, row: data.Row) -> None:
        super().__init__(db_path, as_of)
        self.row = row
        self.TITLE_TEXT = f"Waive {row.id}"

    def fields(self) -> ComposeResult:
        yield row("Reason", Input(placeholder="why this obligation is not owed", id="reason"))
        yield row("By", Input(id="by"))

    def validate_form(self) -> Callable[[], str]:
        reason = self.value("reason")
        if not reason:
            raise ValueError("Reason: a waiver needs a reason")
        by = self.value("by") or None
        oid, path, as_of = self.row.id, self.db_path, self.as_of
        return lambda: data.do_waive(path, oid, reason, as_of, by)


class AddActionForm(Form):
    TITLE_TEXT = "Add an action"

    def __init__(self, db_path: Path, as_of: dt.date, home: str = "") -> None:
        super().__init__(db_path, as_of)
        self.home = home

    def fields(self) -> ComposeResult:
        yield row("Home", Input(self.home, placeholder="home id", id="home"))
        yield row("Title", Input(id="title"))
        yield row("Due", Input(placeholder="YYYY-MM-DD", id="due"))
        yield row("Owner", Input(id="owner"))
        yield row(
            "Source", Input(placeholder="e.g. ofsted-full 2026-06-10, requirement 1", id="source")
        )

    def validate_form(self) -> Callable[[], str]:
        home, title = self.value("home"), self.value("title")
        if not home:
            raise ValueError("Home id: which home is the action for?")
        if not title:
            raise ValueError("Title: an action needs a title")
        due_on = _parse_optional_date("Due", self.value("due"))
        if due_on is None:
            raise ValueError("Due: give the due date (YYYY-MM-DD)")
        owner, source = self.value("owner") or None, self.value("source") or None
        path, as_of = self.db_path, self.as_of
        return lambda: data.do_add_action(path, home, title, due_on, as_of, owner, source)


class CloseActionForm(Form):
    def __init__(self, db_path: Path, as_of: dt.date, row: data.Row) -> None:
        super().__init__(db_path, as_of)
        self.row = row
        self.TITLE_TEXT = f"Close action: {row.title} ({row.home})"

    def fields(self) -> ComposeResult:
        yield row("Done on", Input(self.as_of.isoformat(), placeholder="YYYY-MM-DD", id="date"))
        yield row("By", Input(id="by"))

    def validate_form(self) -> Callable[[], str]:
        day = _parse_optional_date("Done on", self.value("date"))
        if day is None:
            raise ValueError("Done on: give the date (YYYY-MM-DD)")
        if day > self.as_of:
            raise ValueError(f"Done on: {day} is after today ({self.as_of})")
        by = self.value("by") or None
        aid, path, as_of = self.row.id.split("/", 2)[2], self.db_path, self.as_of
        return lambda: data.do_close_action(path, aid, day, as_of, by)


class WhyScreen(ModalScreen[None]):
    """The explanation of one date, exactly as ``compliance why`` prints it."""

    BINDINGS = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("q", "dismiss_screen", "Close", show=False),
        Binding("enter", "dismiss_screen", "Close", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="why"):
            yield Static("Why this date (escape to close)", classes="form-title", markup=False)
            with VerticalScroll():
                yield Static(self.text, id="why-text", markup=False)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)


HELP = """\
Every action is also in the command palette (ctrl+p).

  1 2 3 4   Today, Homes, Calendar, Actions
  enter     why this date (Today, Actions); open the home (Homes)
  r         record that the selected obligation was met
  w         waive the selected obligation, with a reason
  o         open the selected row's home: obligations, history
  a         add an action
  c         close the selected action (Actions)
  /         filter: words, or home:ID rule:KEY state:overdue|due
  escape    clear the filter; close a form or screen
  ctrl+r    reload now (others' changes also appear by themselves)
  ?         this help
  q         quit

States are words and colours: OVERDUE (red); due (amber: the
window is open or inside the lead time); upcoming.
Homes: RED something overdue; AMBER something due within {amber}
days; green nothing due soon.
Calendar: ok done on time, lat done late, MIS missed,
wvd waived, opn open, . not owed.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss_screen", "Close"),
        Binding("question_mark", "dismiss_screen", "Close", show=False),
        Binding("q", "dismiss_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="why"):
            yield Static("Help", classes="form-title", markup=False)
            with VerticalScroll():
                yield Static(HELP.format(amber=data.AMBER_DAYS), id="help-text", markup=False)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)


def obligation_cells(r: data.Row) -> tuple[Any, ...]:
    return (
        Text(r.due.isoformat()),
        Text(f"{r.days_left:+d}", style=STATE_STYLE.get(r.status, "")),
        state_text(r.status),
        Text(r.home_name),
        Text(r.title),
    )


class HomeScreen(Screen[None]):
    """One home: its open obligations, its history and its actions."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "record", "Record"),
        Binding("w", "waive", "Waive"),
        Binding("enter", "why", "Why", show=False),
    ]

    def __init__(self, db_path: Path, as_of: dt.date, home_id: str) -> None:
        super().__init__()
        self.db_path = db_path
        self.as_of = as_of
        self.home_id = home_id
        self.rows: dict[str, data.Row] = {}

    def compose(self) -> ComposeResult:
        yield Static(self.home_id, id="home-title", classes="titlebar", markup=False)
        with TabbedContent(id="home-tabs"):
            with TabPane("Obligations", id="h-obligations"):
                yield DataTable(id="h-obl", cursor_type="row", zebra_stripes=True)
            with TabPane("History", id="h-history"):
                yield DataTable(id="h-hist", cursor_type="row", zebra_stripes=True)
            with TabPane("Actions", id="h-actions"):
                yield DataTable(id="h-act", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#h-obl", DataTable).add_columns("due", "days", "state", "obligation", "id")
        self.query_one("#h-hist", DataTable).add_columns("date", "rule", "kind", "by", "notes")
        self.query_one("#h-act", DataTable).add_columns("due", "state", "title", "owner")
        self.reload()

    @work(thread=True, exclusive=True, group="home")
    def reload(self) -> None:
        try:
            detail = data.load_home(self.db_path, self.home_id, self.as_of)
        except ComplianceError as exc:
            deliver(self.app, self.notify, exc.message, severity="error", markup=False)
            return
        deliver(self.app, self.show, detail)

    def show(self, d: data.HomeDetail) -> None:
        self.query_one("#home-title", Static).update(Text(f"{d.name} ({d.id}) - {d.description}"))
        obl = self.query_one("#h-obl", DataTable)
        obl.clear()
        self.rows = {}
        for r in d.obligations:
            self.rows[r.id] = r
            obl.add_row(
                Text(r.due.isoformat()),
                Text(f"{r.days_left:+d}"),
                state_text(r.status),
                Text(r.title),
                Text(r.id),
                key=r.id,
            )
        hist = self.query_one("#h-hist", DataTable)
        hist.clear()
        for h in d.history:
            hist.add_row(*(Text(x) for x in h))
        act = self.query_one("#h-act", DataTable)
        act.clear()
        for r in d.actions:
            act.add_row(Text(r.due.isoformat()), state_text(r.status), Text(r.title), Text(r.owner))

    def _selected(self) -> data.Row | None:
        table = self.query_one("#h-obl", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key or "")

    def action_record(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.open_record(row, then=self.reload)  # type: ignore[attr-defined]

    def action_waive(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.open_waive(row, then=self.reload)  # type: ignore[attr-defined]

    def action_why(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.open_why(row.id)  # type: ignore[attr-defined]

    @on(DataTable.RowSelected, "#h-obl")
    def _selected_row(self) -> None:
        self.action_why()

"""What the TUI shows, read from the core in plain rows; and the writes it makes, through the core.

Every function opens its own connection, so it can run in a worker thread (SQLite connections
belong to the thread that made them) while the interface stays responsive. Nothing here computes
a date: it calls :mod:`compliance.service` exactly as the CLI does.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..dates import add_months, period_of
from ..engine import Query
from ..model import OPEN_STATUSES
from ..service import (
    ActionItem,
    Item,
    Network,
    action_items,
    add_action,
    close_action,
    due,
    explanation_lines,
    home_occurrences,
    occurrences,
    record,
    waive,
    why,
)
from ..store import open_store

# Red/amber/green for a home: red when anything is overdue, amber when something falls due
# within AMBER_DAYS, green otherwise.
AMBER_DAYS = 14


@contextmanager
def network(path: Path) -> Iterator[Network]:
    net = Network.open(open_store(path, create=False))
    try:
        yield net
    finally:
        net.store.close()


@dataclass
class Row:
    """One open obligation (or action) as a table row."""

    id: str
    home: str
    home_name: str
    rule: str
    title: str
    window_start: dt.date
    due: dt.date
    status: str
    days_left: int
    owner: str = ""

    @property
    def is_action(self) -> bool:
        return self.rule == "action"

    def matches(self, words: list[tuple[str, str]]) -> bool:
        """Filter words: ``home:x``, ``rule:y``, ``state:z`` or free text (all must match)."""
        for key, value in words:
            if key == "home":
                ok = value in self.home.lower() or value in self.home_name.lower()
            elif key == "rule":
                ok = value in self.rule.lower()
            elif key in ("state", "status"):
                ok = self.status.startswith(value)
            else:
                ok = any(
                    value in s.lower()
                    for s in (
                        self.home,
                        self.home_name,
                        self.rule,
                        self.title,
                        self.status,
                        self.id,
                    )
                )
            if not ok:
                return False
        return True


def parse_filter(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for word in text.lower().split():
        key, sep, value = word.partition(":")
        out.append((key, value) if sep and value else ("", word))
    return out


def _row(it: Item, as_of: dt.date) -> Row:
    o = it.occ
    return Row(
        o.id,
        it.home.id,
        it.home.name,
        it.rule.key,
        o.title if it.rule.key == "action" and o.title else it.title,
        o.window_start,
        o.due,
        o.status,
        o.days_left(as_of),
    )


def _action_row(net: Network, a: ActionItem, as_of: dt.date) -> Row:
    row = _row(Item(a.occ, a.home, net.cat.rules["action"], as_of), as_of)
    row.owner = a.owner or ""
    return row


@dataclass
class HomeRow:
    id: str
    name: str
    nation: str
    kind: str
    overdue: int = 0
    due_soon: int = 0
    next_due: dt.date | None = None
    next_title: str = ""

    @property
    def rag(self) -> str:
        return "red" if self.overdue else "amber" if self.due_soon else "green"

    def matches(self, words: list[tuple[str, str]]) -> bool:
        """``home:`` matches id or name; ``state:overdue``/``due`` homes with such items."""
        text = f"{self.id} {self.name} {self.nation} {self.kind} {self.rag}".lower()
        for key, value in words:
            if key == "home":
                ok = value in self.id.lower() or value in self.name.lower()
            elif key in ("state", "status"):
                ok = (
                    bool(self.overdue)
                    if "overdue".startswith(value)
                    else bool(self.due_soon)
                    if "due".startswith(value)
                    else True
                )
            elif key == "rule":
                ok = True  # every home has many rules
            else:
                ok = value in text
            if not ok:
                return False
        return True


@dataclass
class Board:
    """Everything the Today, Homes and Actions tabs show, computed in one pass."""

    as_of: dt.date
    days: int
    network_name: str
    items: list[Row]
    homes: list[HomeRow]
    actions: list[Row]

    @property
    def today(self) -> list[Row]:
        until = self.as_of + dt.timedelta(days=self.days)
        return [r for r in self.items if r.due <= until and not r.is_action]


def load_board(path: Path, as_of: dt.date, days: int = 30) -> Board:
    """One snapshot, one pass of the engine: Today, every home's next deadline, open actions."""
    with network(path) as net:
        # the same listing as 'compliance due' (the pending index picks the pairs to compute)
        items = due(net, as_of, days)
        homes = {
            h.id: HomeRow(
                h.id,
                h.name,
                h.nation,
                ("secure" if h.secure else "children's home") + (", YJB" if h.yjb else ""),
            )
            for h in net.store.homes()
        }
        rows = [_row(it, as_of) for it in items if it.rule.key != "action"]
        for r in rows:
            hr = homes[r.home]
            if r.status == "overdue":
                hr.overdue += 1
            elif r.days_left <= AMBER_DAYS:
                hr.due_soon += 1
            if hr.next_due is None:  # rows are most urgent first
                hr.next_due, hr.next_title = r.due, r.title
        # every open action, however far ahead, from the same snapshot
        acts = [_action_row(net, a, as_of) for a in action_items(net, as_of)]
        name = net.store.network().get("network.name", "")
    order = {"red": 0, "amber": 1, "green": 2}
    home_rows = sorted(
        homes.values(),
        key=lambda h: (order[h.rag], h.next_due or dt.date.max, h.id),
    )
    return Board(as_of, days, name, rows, home_rows, acts)


# -- the calendar heat map ----------------------------------------------------------------------

# Cell states, worst first: the cell of a month shows the worst state of the obligations due in it.
CELL_STATES = ("missed", "late", "waived", "open", "done", "none")


@dataclass
class Calendar:
    year: str  # "2026-27"
    months: list[dt.date]  # first day of each month, April to March
    rows: list[tuple[str, str, list[str]]] = field(default_factory=list)  # home id, name, states


def inspection_year_months(as_of: dt.date) -> tuple[str, list[dt.date]]:
    p = period_of(as_of, "inspection-year")
    return p.key, [add_months(p.start, i) for i in range(12)]


def cell_state(status: str) -> str:
    if status == "overdue":
        return "missed"
    if status in OPEN_STATUSES:
        return "open"
    return status if status in ("late", "waived", "done") else "none"


def load_calendar(path: Path, as_of: dt.date) -> Calendar:
    year, months = inspection_year_months(as_of)
    first, end = months[0], add_months(months[0], 12) - dt.timedelta(days=1)
    cal = Calendar(year, months)
    with network(path) as net:
        snap = net.store.snapshot(None, open_actions_only=False)
        q = Query(as_of, end, closed=True, holidays=net.holidays, start=first)
        grid: dict[str, list[str]] = {h.id: ["none"] * 12 for h in snap.homes}
        for it in occurrences(net, snap, q):
            o = it.occ
            if not first <= o.due <= end:
                continue
            i = (o.due.year - first.year) * 12 + o.due.month - first.month
            cells = grid[o.home]
            state = cell_state(o.status)
            if CELL_STATES.index(state) < CELL_STATES.index(cells[i]):
                cells[i] = state
        cal.rows = [(h.id, h.name, grid[h.id]) for h in snap.homes]
    return cal


# -- one home ------------------------------------------------------------------------------------


@dataclass
class HomeDetail:
    id: str
    name: str
    description: str
    obligations: list[Row]
    history: list[tuple[str, str, str, str, str]]  # date, rule, kind, by, notes
    actions: list[Row]


def load_home(path: Path, home_id: str, as_of: dt.date) -> HomeDetail:
    with network(path) as net:
        h = net.store.home(home_id)
        items = home_occurrences(net, h.id, as_of, as_of + dt.timedelta(days=400))
        open_rows = [_row(it, as_of) for it in items if it.occ.is_open and it.rule.key != "action"]
        evs = sorted(net.store.events(h.id), key=lambda e: (e.date, e.id), reverse=True)
        hist = [
            (e.date.isoformat(), e.rule, e.kind, e.by or "", e.notes or e.outcome or "")
            for e in evs
        ]
        acts = [
            _action_row(net, a, as_of)
            for a in action_items(net, as_of, homes=[h.id], include_closed=True)
        ]
    traits = [h.nation.title(), "secure" if h.secure else "children's home"]
    if h.yjb:
        traits.append("YJB places")
    if h.urn:
        traits.append(f"URN {h.urn}")
    return HomeDetail(h.id, h.name, ", ".join(traits), open_rows, hist, acts)


# -- why -----------------------------------------------------------------------------------------


def load_why(path: Path, oid: str, as_of: dt.date) -> str:
    with network(path) as net:
        return "\n".join(explanation_lines(why(net, oid, as_of)))


# -- writes, each through the core exactly as the CLI makes them ----------------------------------


def do_record(
    path: Path,
    home: str,
    rule: str,
    when: dt.date,
    as_of: dt.date,
    *,
    by: str | None = None,
    evidence: str | None = None,
    notes: str | None = None,
    outcome: str | None = None,
    expires: dt.date | None = None,
) -> str:
    with network(path) as net:
        ev, added = record(
            net,
            home,
            rule,
            when=when,
            as_of=as_of,
            by=by,
            evidence=evidence,
            notes=notes,
            outcome=outcome,
            expires=expires,
        )
    return f"Recorded {ev.rule} for {ev.home} on {ev.date}" + (
        "" if added else " (already recorded)"
    )


def do_waive(path: Path, oid: str, reason: str, as_of: dt.date, by: str | None = None) -> str:
    with network(path) as net:
        waive(net, oid, reason, as_of, by)
    return f"Waived {oid}"


def do_add_action(
    path: Path,
    home: str,
    title: str,
    due_on: dt.date,
    as_of: dt.date,
    owner: str | None = None,
    source: str | None = None,
) -> str:
    with network(path) as net:
        a = add_action(net, home, title, due_on, as_of=as_of, owner=owner, source=source)
    return f"Added action {a.id} for {a.home}, due {a.due}"


def do_close_action(
    path: Path, action_id: str, on: dt.date, as_of: dt.date, by: str | None = None
) -> str:
    with network(path) as net:
        close_action(net, action_id, on, as_of, by)
    return f"Closed action {action_id} on {on}"


def cadence_kind(path: Path, rule: str) -> str:
    """The rule's cadence: the record form asks for an expiry for approvals and warns about
    calendar periods (a visit today cannot fill a month that has passed)."""
    with network(path) as net:
        return net.rule(rule).cadence.kind


class ChangeWatch:
    """Notices commits by any other connection (the CLI, another officer) cheaply.

    ``PRAGMA data_version`` changes when another connection has committed since the last call.
    """

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.last = self._version()

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        v = self._version()
        if v != self.last:
            self.last = v
            return True
        return False

    def close(self) -> None:
        self.conn.close()

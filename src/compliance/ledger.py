"""The records of a set of fixture files in a throw-away database on disk, for ``compliance check``.

``check`` computes on a store holding the files, with the same ``service.due`` as ``compliance
due``. A national network's files hold about a million events: as Python objects, with where
each was written, they took gigabytes. The parser gives them to a :class:`Ledger` instead (it is
a :class:`fixture.Records`), which writes them to the store as they come, and where each entry
is (file, table, index) to a table beside them; the checks across files are queries.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .errors import FixtureError
from .located import Locator
from .model import Action, Event
from .store import MIGRATIONS, Store, event_from_row

_SCHEMA = """
CREATE TABLE located (
    rec TEXT NOT NULL, id TEXT NOT NULL,  -- rec: 'event' (events, waivers) or 'action'
    file INTEGER NOT NULL, tab TEXT NOT NULL, idx INTEGER NOT NULL, uniq INTEGER NOT NULL
);
CREATE UNIQUE INDEX located_unique ON located (file, tab, id) WHERE uniq;
CREATE INDEX located_id ON located (rec, id, file);
"""

BATCH = 5000  # events written at a time
DEFERRED = ("events_home_rule", "located_id")  # indexes built after the parse


class Ledger:
    """A store on disk that a parse writes its events and actions to (see module doc)."""

    def __init__(self, directory: Path) -> None:
        path = directory / "check.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # thrown away at the end: nothing to recover after a crash
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -32768")  # 32 MB
        # a throw-away schema needs no migration bookkeeping (nor sqlite-utils: 100+ ms to import)
        for _, sql in MIGRATIONS:
            conn.executescript(sql)
        conn.executescript(_SCHEMA)
        # No pending index to keep (check computes once): its triggers would run on every row.
        # The indexes that only the queries after the parse use are built once, at the end.
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pending_%'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        self._deferred = [
            sql
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            )
            if name in DEFERRED
        ]
        for name in DEFERRED:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("BEGIN")
        self.store = Store(path, conn)
        self.conn = conn
        self.locators: dict[str, Locator] = {}
        self.names: list[str] = []  # file number -> name
        self._numbers: dict[str, int] = {}
        self._events: list[Event] = []
        self._actions: list[Action] = []
        self.corrections: list[Event] = []  # written last, each after the event it corrects

    def close(self) -> None:
        self.conn.close()

    # -- fixture.Records ------------------------------------------------------------------------

    def keep(
        self, loc: Locator, table: str, index: int, record: Event | Action, unique: bool
    ) -> int | None:
        file = self._numbers.get(loc.name)
        if file is None:
            file = self._numbers[loc.name] = len(self.names)
            self.names.append(loc.name)
            self.locators[loc.name] = loc
        rec = "action" if isinstance(record, Action) else "event"
        try:
            self.conn.execute(
                "INSERT INTO located VALUES (?, ?, ?, ?, ?, ?)",
                (rec, record.id, file, table, index, int(unique)),
            )
        except sqlite3.IntegrityError:  # the id is in this file's table already
            row = self.conn.execute(
                "SELECT idx FROM located WHERE file = ? AND tab = ? AND id = ? AND uniq",
                (file, table, record.id),
            ).fetchone()
            return int(row[0])
        if isinstance(record, Action):
            self._actions.append(record)
        else:
            self.keep_completion(record)
        return None

    def keep_completion(self, e: Event) -> None:
        if e.supersedes is not None:
            self.corrections.append(e)
            return
        self._events.append(e)
        if len(self._events) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        self.store.append_log(self._events, "check")
        self.store.put_actions(self._actions)
        self._events, self._actions = [], []

    def finish(self, depth: dict[str, int]) -> None:
        """Write what is left: the corrections last, shallowest first (``depth``), as ``load``
        appends them, so the log's order is the one ``load`` would give."""
        self._flush()
        self.store.append_log(sorted(self.corrections, key=lambda e: depth[e.id]), "check")
        for sql in self._deferred:
            self.conn.execute(sql)

    # -- where the records are ------------------------------------------------------------------

    def entry(self, record: str) -> tuple[str, str, int] | None:
        """(file, table, index) of ``record`` ("event:ID", "action:ID"): its last entry."""
        rec, _, rid = record.partition(":")
        row = self.conn.execute(
            "SELECT file, tab, idx FROM located WHERE rec = ? AND id = ? "
            "ORDER BY file DESC, rowid DESC LIMIT 1",
            (rec, rid),
        ).fetchone()
        return None if row is None else (self.names[row[0]], row[1], row[2])

    def error_at(self, record: str, key: str | None, message: str) -> FixtureError:
        file, table, index = self._located(record)
        return self.locators[file].error(table, index, key, message)

    def line_of(self, record: str, key: str | None = None) -> tuple[str, int]:
        file, table, index = self._located(record)
        return file, self.locators[file].line(table, index, key)

    def _located(self, record: str) -> tuple[str, str, int]:
        where = self.entry(record)
        if where is None:
            raise KeyError(record)
        return where

    def duplicates(self) -> Iterator[tuple[str, str, tuple[str, str, int], tuple[str, str, int]]]:
        """Each entry of an event or action whose id an earlier file has too: (rec, id, this
        entry, the earlier file's last entry of it), in the order of the files."""
        rows = self.conn.execute(
            "SELECT l.rec, l.id, l.file, l.tab, l.idx, "
            " (SELECT f.rowid FROM located f WHERE f.rec = l.rec AND f.id = l.id"
            "  AND f.file = (SELECT min(g.file) FROM located g WHERE g.rec = l.rec AND g.id = l.id)"
            "  ORDER BY f.rowid DESC LIMIT 1) AS first "
            "FROM located l "
            "WHERE EXISTS (SELECT 1 FROM located e WHERE e.rec = l.rec AND e.id = l.id AND e.file < l.file) "
            "ORDER BY l.file, l.rowid"
        ).fetchall()
        for rec, rid, file, tab, idx, first in rows:
            f = self.conn.execute(
                "SELECT file, tab, idx FROM located WHERE rowid = ?", (first,)
            ).fetchone()
            yield rec, rid, (self.names[file], tab, idx), (self.names[f[0]], f[1], f[2])

    def event_homes(self, ids: list[str]) -> dict[str, str]:
        """The home of each of these events that is in the files."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for eid, home in self.conn.execute(
                f"SELECT id, home FROM events WHERE id IN ({marks})", chunk
            ):
                out[eid] = home
        return out

    def unreported(self, rule: str, trigger: str) -> Iterator[tuple[str, str, dt.date]]:
        """Each event of ``rule`` (a report: an ``after`` rule) in the files whose home has no
        ``trigger`` event (what it reports on) on or before it: (id, home, date)."""
        for eid, home, date in self.conn.execute(
            "SELECT e.id, e.home, e.date FROM events e WHERE e.rule = ? AND e.kind = 'done' "
            "AND EXISTS (SELECT 1 FROM located l WHERE l.rec = 'event' AND l.id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM events t WHERE t.home = e.home AND t.rule = ? "
            "AND t.kind = 'done' AND t.date <= e.date) ORDER BY e.seq",
            (rule, trigger),
        ):
            yield eid, home, dt.date.fromisoformat(date)

    def last_event(
        self, home: str, rule: str, *, until: dt.date | None = None, on: dt.date | None = None
    ) -> str | None:
        """The id of the last event of ``home``'s ``rule`` written in the files (on or before
        ``until``, or on ``on``): the latest date, then the one written last."""
        cond, args = "", [home, rule]
        if until is not None:
            cond, args = " AND e.date <= ?", [*args, until.isoformat()]
        if on is not None:
            cond, args = " AND e.date = ?", [*args, on.isoformat()]
        # CROSS JOIN keeps SQLite on the events' (home, rule, date) index: with a date given,
        # it would otherwise read every located event (seconds a query on a national set)
        row = self.conn.execute(
            "SELECT e.id FROM events e CROSS JOIN located l ON l.rec = 'event' AND l.id = e.id "
            f"AND l.tab = 'events' WHERE e.home = ? AND e.rule = ? AND e.kind = 'done'{cond} "
            "ORDER BY e.date DESC, l.file DESC, l.idx DESC LIMIT 1",
            args,
        ).fetchone()
        return None if row is None else str(row[0])

    # -- what service.waiver_problems reads -----------------------------------------------------

    def waivers(self) -> Iterator[Event]:
        for row in self.conn.execute(
            "SELECT * FROM events WHERE kind = 'waiver' AND target IS NOT NULL ORDER BY seq"
        ).fetchall():
            yield event_from_row(row)

    def latest_date(self) -> dt.date:
        row = self.conn.execute("SELECT max(date) FROM events").fetchone()
        return dt.date.fromisoformat(row[0]) if row[0] else dt.date.min

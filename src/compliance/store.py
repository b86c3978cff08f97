"""The store: SQLite, an append-only event log, migrations recorded in the database, WAL.

Reads (the hot ``due`` path) use the standard library's ``sqlite3``; writes and migrations go
through ``sqlite-utils``, imported only when something is written. Alongside the log the store
keeps ``summary``: per home and rule, the distinct local dates of the events that count. It is a
derived index (like an SQL index), rewritten in the same transaction as every write and
rebuildable from the log with :meth:`Store.rebuild_summary`; occurrences are never stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .agenda import FINGERPRINT_KEY
from .engine import Waiver
from .errors import InvalidInput, NotFound, StoreError
from .model import Action, Event, History, Home, Rule
from .rules import rule_from_dict, rule_to_dict
from .workdays import HolidayOverride

# A home's agenda rows are replaced whenever it is written; a full rebuild drops this index and
# builds it once at the end (several times faster than keeping it up to date row by row).
AGENDA_HOME = "CREATE INDEX IF NOT EXISTS agenda_home ON agenda (home)"

NOT_SUPERSEDED = "NOT EXISTS (SELECT 1 FROM events s WHERE s.supersedes = e.id)"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE homes (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, nation TEXT NOT NULL,
            secure INTEGER NOT NULL, yjb INTEGER NOT NULL, since TEXT, urn TEXT, url TEXT,
            local_authority TEXT, sector TEXT, places INTEGER, provision TEXT, updated_at TEXT
        );
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            home TEXT NOT NULL, rule TEXT NOT NULL, kind TEXT NOT NULL, date TEXT NOT NULL,
            at TEXT, by TEXT, evidence TEXT, notes TEXT, outcome TEXT, expires TEXT,
            target TEXT, supersedes TEXT, recorded_at TEXT NOT NULL, origin TEXT
        );
        CREATE INDEX events_home_rule ON events (home, rule, date);
        CREATE INDEX events_supersedes ON events (supersedes) WHERE supersedes IS NOT NULL;
        CREATE INDEX events_target ON events (target) WHERE target IS NOT NULL;
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only: record a correction instead'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only: record a correction instead'); END;
        CREATE TABLE actions (
            id TEXT PRIMARY KEY, home TEXT NOT NULL, title TEXT NOT NULL, due TEXT NOT NULL,
            source TEXT, owner TEXT, created TEXT, recorded_at TEXT
        );
        CREATE INDEX actions_home ON actions (home);
        CREATE TABLE user_rules (key TEXT PRIMARY KEY, definition TEXT NOT NULL, origin TEXT, recorded_at TEXT);
        CREATE TABLE holiday_overrides (
            nation TEXT NOT NULL, date TEXT NOT NULL, op TEXT NOT NULL, name TEXT,
            PRIMARY KEY (nation, date)
        );
        CREATE TABLE summary (
            home TEXT NOT NULL, rule TEXT NOT NULL, dates TEXT NOT NULL, months TEXT NOT NULL,
            first TEXT NOT NULL, last TEXT NOT NULL, expiries TEXT, PRIMARY KEY (home, rule)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "calendar feed subscriptions",
        # The token is never stored: only its SHA-256. Revoked rows stay (who could read what).
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE, homes TEXT NOT NULL, rules TEXT NOT NULL,
            created_at TEXT NOT NULL, revoked_at TEXT
        );
        CREATE UNIQUE INDEX subscriptions_active_name ON subscriptions (name) WHERE revoked_at IS NULL;
        """,
    ),
    (
        "pending index",
        # A derived index, like ``summary``: per home and rule, the earliest date on which the
        # engine found something owed (``next_due``), computed by the engine itself from the log.
        # ``due`` computes only the pairs whose next_due falls inside its horizon. A home's row in
        # pending_homes vouches for its pairs; the triggers drop it whenever anything the engine
        # reads about the home changes (whoever writes), and any change to the user rules or bank
        # holidays drops the whole index's fingerprint. A home without a row is computed in full.
        """
        CREATE TABLE pending_homes (
            home TEXT PRIMARY KEY, horizon TEXT NOT NULL, since TEXT
        ) WITHOUT ROWID;
        CREATE TABLE pending (
            home TEXT NOT NULL, rule TEXT NOT NULL, next_due TEXT NOT NULL, trigger TEXT,
            PRIMARY KEY (home, rule)
        ) WITHOUT ROWID;
        CREATE INDEX pending_next_due ON pending (next_due);
        CREATE TRIGGER pending_events AFTER INSERT ON events
            BEGIN DELETE FROM pending_homes WHERE home = NEW.home; END;
        CREATE TRIGGER pending_homes_insert AFTER INSERT ON homes
            BEGIN DELETE FROM pending_homes WHERE home = NEW.id; END;
        CREATE TRIGGER pending_homes_update AFTER UPDATE ON homes
            BEGIN DELETE FROM pending_homes WHERE home IN (OLD.id, NEW.id); END;
        CREATE TRIGGER pending_homes_delete AFTER DELETE ON homes
            BEGIN DELETE FROM pending_homes WHERE home = OLD.id; END;
        CREATE TRIGGER pending_actions_insert AFTER INSERT ON actions
            BEGIN DELETE FROM pending_homes WHERE home = NEW.home; END;
        CREATE TRIGGER pending_actions_update AFTER UPDATE ON actions
            BEGIN DELETE FROM pending_homes WHERE home IN (OLD.home, NEW.home); END;
        CREATE TRIGGER pending_actions_delete AFTER DELETE ON actions
            BEGIN DELETE FROM pending_homes WHERE home = OLD.home; END;
        CREATE TRIGGER pending_rules_insert AFTER INSERT ON user_rules
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        CREATE TRIGGER pending_rules_update AFTER UPDATE ON user_rules
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        CREATE TRIGGER pending_rules_delete AFTER DELETE ON user_rules
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        CREATE TRIGGER pending_holidays_insert AFTER INSERT ON holiday_overrides
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        CREATE TRIGGER pending_holidays_update AFTER UPDATE ON holiday_overrides
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        CREATE TRIGGER pending_holidays_delete AFTER DELETE ON holiday_overrides
            BEGIN DELETE FROM meta WHERE key = 'pending.fingerprint'; END;
        """,
    ),
    (
        "agenda",
        # The pending index grows into the agenda (see compliance.agenda): per home, every open
        # occurrence the engine computes up to ``until``, so ``due`` reads them instead of running
        # the engine; kept in due-date order, so a listing is one range of the table.
        # ``pending_homes`` keeps its name and its triggers: a home's row vouches for its agenda
        # rows, and any write about the home drops it. ``agenda_rules`` holds what the listings
        # show of each rule (also JSON-encoded), as the agenda was computed with it.
        """
        DROP TABLE pending;
        ALTER TABLE pending_homes ADD COLUMN until TEXT NOT NULL DEFAULT '';
        CREATE TABLE agenda (
            home TEXT NOT NULL, rule TEXT NOT NULL, period TEXT NOT NULL,
            window_start TEXT NOT NULL, due TEXT NOT NULL, due_from TEXT NOT NULL, title TEXT,
            PRIMARY KEY (due, home, rule, period)
        ) WITHOUT ROWID;
        {AGENDA_HOME};
        CREATE TABLE agenda_rules (
            key TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, basis TEXT NOT NULL,
            aliases TEXT NOT NULL, title_json TEXT NOT NULL, tail TEXT NOT NULL
        ) WITHOUT ROWID;
        DELETE FROM meta WHERE key = 'pending.fingerprint';
        """.replace("{AGENDA_HOME}", AGENDA_HOME),
    ),
]


_INTO_EVENTS = (  # after INSERT or INSERT OR IGNORE, with a row of _event_row
    "INTO events (id, home, rule, kind, date, at, by, evidence, notes, outcome, expires,"
    " target, supersedes, recorded_at, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _event_row(e: Event, now: str, origin: str) -> tuple[str | None, ...]:
    """An event as a row of the log."""
    return (
        e.id,
        e.home,
        e.rule,
        e.kind,
        e.date.isoformat(),
        e.at,
        e.by,
        e.evidence,
        e.notes,
        e.outcome,
        _iso(e.expires),
        e.target,
        e.supersedes,
        e.recorded_at or now,
        origin,
    )


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


def home_from_row(r: sqlite3.Row) -> Home:
    return Home(
        id=r["id"],
        name=r["name"],
        nation=r["nation"],
        secure=bool(r["secure"]),
        yjb=bool(r["yjb"]),
        since=_date(r["since"]),
        urn=r["urn"],
        url=r["url"],
        local_authority=r["local_authority"],
        sector=r["sector"],
        places=r["places"],
        provision=r["provision"],
    )


def event_from_row(r: sqlite3.Row) -> Event:
    return Event(
        id=r["id"],
        home=r["home"],
        rule=r["rule"],
        date=dt.date.fromisoformat(r["date"]),
        kind=r["kind"],
        at=r["at"],
        by=r["by"],
        evidence=r["evidence"],
        notes=r["notes"],
        outcome=r["outcome"],
        expires=_date(r["expires"]),
        target=r["target"],
        supersedes=r["supersedes"],
        recorded_at=r["recorded_at"],
    )


def action_from_row(r: sqlite3.Row) -> Action:
    return Action(
        r["id"],
        r["home"],
        r["title"],
        dt.date.fromisoformat(r["due"]),
        r["source"],
        r["owner"],
        _date(r["created"]),
    )


@dataclass
class Snapshot:
    """What the engine needs for a set of homes, read in a handful of queries."""

    homes: list[Home]
    histories: dict[tuple[str, str], History]
    first_event: dict[str, dt.date]
    waivers: dict[str, Waiver]
    actions: dict[str, list[Action]]
    action_done: dict[str, dt.date]
    user_rules: list[Rule]
    holidays: list[HolidayOverride]
    network: dict[str, str] = field(default_factory=dict)


def _create_private(path: Path) -> None:
    """Create the database file readable and writable by its owner only (the data is about children)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


class Store:
    """An open database. Use :func:`open_store`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        # Called with this store inside every write transaction just before it commits (the
        # service brings the pending index up to date there, so a write and its index land
        # together or not at all). It must not hold the store itself: a reference cycle would
        # keep the connection open until the garbage collector runs.
        self.before_commit: Callable[[Store], object] | None = None

    # -- opening and migrations ----------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT max(version) FROM migrations").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0] or 0)

    def migrate(self) -> None:
        import sqlite_utils

        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer version of compliance (schema {current}); upgrade compliance"
            )
        if current == len(MIGRATIONS):
            return
        db = sqlite_utils.Database(self.conn)
        with self.transaction():
            if current == 0:
                db.table("migrations").create(
                    {"version": int, "name": str, "applied_at": str},
                    pk="version",
                    if_not_exists=True,
                )
            for version, (name, sql) in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in _statements(sql):
                    self.conn.execute(statement)
                db.table("migrations").insert(
                    {"version": version, "name": name, "applied_at": _now()}
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction per user action: all of it or nothing."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path} is busy or read-only ({exc}); try again") from None
        try:
            yield self.conn
            if self.before_commit is not None:
                self.before_commit(self)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One consistent view for reads that take many queries (a calendar of every home): a
        read transaction, which in WAL mode is a snapshot that concurrent writes do not change.
        Inside an open transaction, that one."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")  # nothing was written

    # -- reads ---------------------------------------------------------------------------------

    def homes(self, ids: Iterable[str] | None = None) -> list[Home]:
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: a national register has thousands of homes
        cols = "id, name, nation, secure, yjb, since, urn, url, local_authority, sector, places, provision"
        if ids is None:
            rows = cur.execute(f"SELECT {cols} FROM homes ORDER BY id").fetchall()
        else:
            # one JSON parameter rather than one '?' per home: no limit on how many
            rows = cur.execute(
                f"SELECT {cols} FROM homes WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (json.dumps(sorted(set(ids))),),
            ).fetchall()
        return [
            Home(
                i,
                n,
                na,
                bool(se),
                bool(y),
                dt.date.fromisoformat(si) if si else None,
                u,
                ur,
                la,
                sec,
                pl,
                pr,
            )
            for i, n, na, se, y, si, u, ur, la, sec, pl, pr in rows
        ]

    def home(self, hid: str) -> Home:
        r = self.conn.execute("SELECT * FROM homes WHERE id = ?", (hid,)).fetchone()
        if r is None:
            known = [row[0] for row in self.conn.execute("SELECT id FROM homes ORDER BY id")]
            import difflib

            close = difflib.get_close_matches(hid, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; 'compliance homes' lists them"
            raise NotFound(f"no home {hid!r}{hint}")
        return home_from_row(r)

    def network(self) -> dict[str, str]:
        return {
            k: v
            for k, v in self.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'network.%'")
        }

    def user_rules(self) -> list[Rule]:
        rows = self.conn.execute(
            "SELECT key, definition, origin FROM user_rules ORDER BY key"
        ).fetchall()
        return [
            rule_from_dict(json.loads(r["definition"]), r["origin"] or "user rule") for r in rows
        ]

    def holiday_overrides(self) -> list[HolidayOverride]:
        rows = self.conn.execute(
            "SELECT nation, date, op, name FROM holiday_overrides ORDER BY nation, date"
        )
        return [
            HolidayOverride(r["nation"], dt.date.fromisoformat(r["date"]), r["op"], r["name"] or "")
            for r in rows
        ]

    def waivers(self, homes: set[str] | None = None) -> dict[str, Waiver]:
        # A waiver targets an occurrence id (HOME/RULE/PERIOD, always with a '/'); the other
        # targeted events are action completions (action ids have none). Finding the candidate
        # targets reads the partial index on target alone (covering), not the rows of every
        # completed action of a national log; only the few candidates' rows are then read.
        targets = [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT target FROM events WHERE target IS NOT NULL AND instr(target, '/') > 0"
            )
        ]
        rows: list[sqlite3.Row] = []
        for i in range(0, len(targets), 500):
            chunk = targets[i : i + 500]
            rows += self.conn.execute(
                f"SELECT seq, id, home, target, notes, date FROM events e WHERE target IN ({','.join('?' * len(chunk))}) AND kind = 'waiver' AND {NOT_SUPERSEDED}",
                chunk,
            ).fetchall()
        rows.sort(key=lambda r: r["seq"])  # later waivers of one occurrence win, as before
        return {
            r["target"]: Waiver(r["notes"] or "", dt.date.fromisoformat(r["date"]), r["id"])
            for r in rows
            if homes is None or r["home"] in homes
        }

    def snapshot(
        self,
        home_ids: Iterable[str] | None = None,
        *,
        open_actions_only: bool = True,
        as_of: dt.date | None = None,
        histories: bool = True,
    ) -> Snapshot:
        """Everything ``due`` needs, in a few queries over the summary index. Without
        ``histories``, only homes, actions and waivers (what the actions listings need)."""
        homes = self.homes(home_ids)
        ids = {h.id for h in homes}
        hists, first = self._histories(None if home_ids is None else ids) if histories else ({}, {})
        done: dict[str, dt.date] = {}
        if not open_actions_only:
            # when each action closed; of these homes' actions only (the only ones looked up),
            # so a batch of a calendar feed does not read every completion of a national log
            scope, args = "", {}
            if home_ids is not None:
                scope = "AND target IN (SELECT id FROM actions WHERE home IN (SELECT value FROM json_each(:homes)))"
                args = {"homes": json.dumps(sorted(ids))}
            for r in self.conn.execute(
                f"SELECT target, min(date) AS d FROM events e WHERE rule = 'action' AND kind = 'done' {scope} AND {NOT_SUPERSEDED} GROUP BY target",
                args,
            ):
                done[r["target"]] = dt.date.fromisoformat(r["d"])
        return Snapshot(
            homes,
            hists,
            first,
            self.waivers(None if home_ids is None else ids),
            self._actions_of(ids, as_of, open_only=open_actions_only),
            done,
            self.user_rules(),
            self.holiday_overrides(),
            self.network(),
        )

    def _histories(
        self, ids: set[str] | None
    ) -> tuple[dict[tuple[str, str], History], dict[str, dt.date]]:
        """The summary rows of these homes (all when None) and each home's first event."""
        if ids is None:
            rows = self.conn.execute(
                "SELECT home, rule, dates, months, first, expiries FROM summary"
            )
        else:
            rows = self.conn.execute(
                "SELECT home, rule, dates, months, first, expiries FROM summary WHERE home IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(ids)),),
            )
        histories: dict[tuple[str, str], History] = {}
        first_iso: dict[str, str] = {}
        for home, rule, dates, months, f, expiries in rows:
            histories[(home, rule)] = History(dates, months, None, (), expiries)
            if home not in first_iso or f < first_iso[home]:
                first_iso[home] = f
        return histories, {h: dt.date.fromisoformat(f) for h, f in first_iso.items()}

    def _actions_of(
        self, ids: set[str], as_of: dt.date | None, *, open_only: bool
    ) -> dict[str, list[Action]]:
        """The actions of these homes (open on ``as_of`` only, when ``open_only``), by home."""
        actions: dict[str, list[Action]] = {}
        # an action closed after as_of was still open then
        day = (as_of or dt.date.max).isoformat()
        closed = (
            f"NOT EXISTS (SELECT 1 FROM events e WHERE e.target = a.id AND e.rule = 'action' AND e.date <= :day AND {NOT_SUPERSEDED})"
            if open_only
            else "1"
        )
        if not ids:
            return actions
        for r in self.conn.execute(
            f"SELECT * FROM actions a WHERE a.home IN (SELECT value FROM json_each(:homes)) AND {closed} ORDER BY due, id",
            {"day": day, "homes": json.dumps(sorted(ids))},
        ):
            actions.setdefault(r["home"], []).append(action_from_row(r))
        return actions

    # -- the pending index (see the "pending index" migration) ----------------------------------

    def index_fingerprint(self) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (FINGERPRINT_KEY,)
        ).fetchone()
        return None if row is None else str(row[0])

    def unindexed_homes(self) -> list[str]:
        """Homes the pending index does not vouch for (new, or changed since it was written)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM homes WHERE id NOT IN (SELECT home FROM pending_homes) ORDER BY id"
            )
        ]

    def horizons(self, ids: list[str]) -> dict[str, str]:
        """Per home, the date of its latest event of any kind (ISO); homes with none are absent."""
        return {
            home: last
            for home, last in self.conn.execute(
                "SELECT home, max(date) FROM events WHERE home IN (SELECT value FROM json_each(?)) GROUP BY home",
                (json.dumps(ids),),
            )
        }

    def write_index(
        self,
        fingerprint: str,
        homes: Iterable[tuple[str, str, str | None, str]],
        rows: Iterable[tuple[str, str, str, str, str, str, str | None]],
        rules: Iterable[tuple[str, str, str, str, str, str, str]],
        *,
        everything: bool,
    ) -> None:
        """Replace the agenda of these homes (of every home when ``everything``).

        ``homes``: (home, horizon, since, until); ``rows``: (home, rule, period, window_start,
        due, due_from, title); ``rules``: (key, title, source, basis, aliases as JSON, title as
        JSON, the end of a listing item) of the catalogue it was computed with. Call inside
        transaction()."""
        homes = list(homes)
        if everything:
            self.conn.execute("DROP INDEX IF EXISTS agenda_home")  # see finish_index
            self.conn.execute("DELETE FROM agenda")
            self.conn.execute("DELETE FROM pending_homes")
        else:
            ids = json.dumps([h[0] for h in homes])
            self.conn.execute(
                "DELETE FROM agenda WHERE home IN (SELECT value FROM json_each(?))", (ids,)
            )
        self.conn.execute("DELETE FROM agenda_rules")
        self.conn.executemany("INSERT INTO agenda_rules VALUES (?,?,?,?,?,?,?)", rules)
        self.conn.executemany("INSERT OR REPLACE INTO pending_homes VALUES (?,?,?,?)", homes)
        self.conn.executemany("INSERT INTO agenda VALUES (?,?,?,?,?,?,?)", rows)
        self.conn.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (FINGERPRINT_KEY, fingerprint)
        )

    def finish_index(self) -> None:
        """After the last write_index of a rebuild: the home index, built once."""
        self.conn.execute(AGENDA_HOME)

    def events(
        self, home: str | None = None, rule: str | None = None, *, include_superseded: bool = False
    ) -> list[Event]:
        where, args = [], []
        if home:
            where.append("home = ?")
            args.append(home)
        if rule:
            where.append("rule = ?")
            args.append(rule)
        if not include_superseded:
            where.append(NOT_SUPERSEDED)
        sql = (
            "SELECT * FROM events e"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY date, seq"
        )
        return [event_from_row(r) for r in self.conn.execute(sql, args)]

    def iter_events(
        self,
        *,
        waivers: bool | None = None,
        action_completions: bool = True,
        ordered: bool = True,
        batch: int = 1000,
    ) -> Iterator[Event]:
        """Every event, superseded ones included, read ``batch`` rows at a time as the caller
        goes (a national log has ~850,000: :meth:`events` would hold them all), by date then
        seq as :meth:`events` gives them, or in no particular order (without a sort of the
        whole log before the first row) unless ``ordered``.

        ``waivers``: True for waivers only, False for none, None for both. Without
        ``action_completions``, the events that close an action are left out."""
        where = []
        if waivers is not None:
            where.append("kind = 'waiver'" if waivers else "kind <> 'waiver'")
        if not action_completions:
            where.append("NOT (rule = 'action' AND kind = 'done')")
        sql = (
            "SELECT id, home, rule, date, kind, at, by, evidence, notes, outcome, expires, target,"
            " supersedes, recorded_at FROM events"
            + (" WHERE " + " AND ".join(where) if where else "")
            + (" ORDER BY date, seq" if ordered else "")
        )
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples, as in events_of
        day = dt.date.fromisoformat
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(batch):
                for i, h, ru, d, k, at, by, ev, no, out, ex, t, su, rec in rows:
                    yield Event(
                        i,
                        h,
                        ru,
                        day(d),
                        k,
                        at,
                        by,
                        ev,
                        no,
                        out,
                        day(ex) if ex else None,
                        t,
                        su,
                        rec,
                    )
        finally:
            cur.close()  # also when the caller stops early

    def action_completions(self) -> dict[str, dt.date]:
        """Per action, the date of its earliest completion, superseded completions included."""
        return {
            target: dt.date.fromisoformat(first)
            for target, first in self.conn.execute(
                "SELECT target, min(date) FROM events WHERE rule = 'action' AND kind = 'done'"
                " AND target <> '' GROUP BY target"
            )
        }

    def events_of(self, homes: Iterable[str]) -> list[Event]:
        """Every event of these homes, superseded ones included, in no particular order: one
        query (a JSON parameter, as in :meth:`homes`) for a batch of a calendar feed."""
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: a batch of a national network is ~40,000 events
        rows = cur.execute(
            "SELECT id, home, rule, date, kind, at, by, evidence, notes, outcome, expires, target,"
            " supersedes, recorded_at FROM events WHERE home IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(homes))),),
        )
        day = dt.date.fromisoformat
        return [
            Event(i, h, ru, day(d), k, at, by, ev, no, out, day(ex) if ex else None, t, su, rec)
            for i, h, ru, d, k, at, by, ev, no, out, ex, t, su, rec in rows
        ]

    def event(self, eid: str) -> Event:
        r = self.conn.execute("SELECT * FROM events WHERE id = ?", (eid,)).fetchone()
        if r is None:
            raise NotFound(f"no event {eid!r}; 'compliance history' lists event ids")
        return event_from_row(r)

    def superseded_ids(self) -> set[str]:
        return {
            r[0]
            for r in self.conn.execute("SELECT supersedes FROM events WHERE supersedes IS NOT NULL")
        }

    def actions(self, home: str | None = None) -> list[Action]:
        sql = "SELECT * FROM actions"
        args: tuple[str, ...] = ()
        if home:
            sql, args = sql + " WHERE home = ?", (home,)
        return [action_from_row(r) for r in self.conn.execute(sql + " ORDER BY due, id", args)]

    def action(self, aid: str) -> Action:
        r = self.conn.execute("SELECT * FROM actions WHERE id = ?", (aid,)).fetchone()
        if r is None:
            raise NotFound(f"no action {aid!r}; 'compliance action list' shows action ids")
        return action_from_row(r)

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("homes", "events", "actions", "user_rules")
        }

    # -- writes (call inside transaction()) ----------------------------------------------------

    def put_homes(self, homes: Iterable[Home]) -> tuple[int, int]:
        """Insert or update homes; returns (added, updated). Homes are reference data, not the log."""
        added = updated = 0
        now = _now()
        for h in homes:
            row = {
                "id": h.id,
                "name": h.name,
                "nation": h.nation,
                "secure": int(h.secure),
                "yjb": int(h.yjb),
                "since": _iso(h.since),
                "urn": h.urn,
                "url": h.url,
                "local_authority": h.local_authority,
                "sector": h.sector,
                "places": h.places,
                "provision": h.provision,
            }
            old = self.conn.execute("SELECT * FROM homes WHERE id = ?", (h.id,)).fetchone()
            if old is None:
                self.conn.execute(
                    "INSERT INTO homes VALUES (:id,:name,:nation,:secure,:yjb,:since,:urn,:url,:local_authority,:sector,:places,:provision,:updated_at)",
                    {**row, "updated_at": now},
                )
                added += 1
            elif any(old[k] != v for k, v in row.items()):
                sets = ",".join(f"{k} = :{k}" for k in row if k != "id")
                self.conn.execute(
                    f"UPDATE homes SET {sets}, updated_at = :updated_at WHERE id = :id",
                    {**row, "updated_at": now},
                )
                updated += 1
        return added, updated

    def append_events(self, events: Iterable[Event], origin: str) -> list[Event]:
        """Append events whose id is new (loading twice adds nothing); returns those added."""
        added: list[Event] = []
        now = _now()
        for e in events:
            if self.conn.execute("SELECT 1 FROM events WHERE id = ?", (e.id,)).fetchone():
                continue
            if e.supersedes is not None:
                old = self.conn.execute(
                    "SELECT home, rule FROM events WHERE id = ?", (e.supersedes,)
                ).fetchone()
                if old is None:
                    raise NotFound(
                        f"event {e.id} supersedes {e.supersedes!r}, which is not in the log"
                    )
                if old["home"] != e.home:
                    raise InvalidInput(
                        f"event {e.id} supersedes an event of another home ({old['home']})"
                    )
            self.conn.execute("INSERT " + _INTO_EVENTS, _event_row(e, now, origin))
            added.append(e)
        pairs = {(e.home, e.rule) for e in added if e.kind == "done" and e.rule != "action"}
        for e in added:
            if e.supersedes:
                old = self.conn.execute(
                    "SELECT home, rule FROM events WHERE id = ?", (e.supersedes,)
                ).fetchone()
                pairs.add((old["home"], old["rule"]))
        self.refresh_summary(pairs)
        return added

    def append_events_bulk(self, events: Iterable[Event], origin: str) -> int:
        """Append many events at once (imports, benchmarks): ids already present are skipped.

        Corrections (``supersedes``) are not accepted here: use :meth:`append_events`.
        """
        events = list(events)
        if any(e.supersedes is not None for e in events):
            raise InvalidInput("a bulk append cannot carry corrections; record them one by one")
        added = self.append_log(events, origin)
        pairs = {(e.home, e.rule) for e in events if e.kind == "done" and e.rule != "action"}
        if len(pairs) > 2000:
            self.rebuild_summary()
        else:
            self.refresh_summary(pairs)
        return added

    def append_log(self, events: Iterable[Event], origin: str) -> int:
        """Append events as they are, corrections included, checking nothing and leaving the
        summary as it was: for a throw-away store written in parts (``compliance check``), whose
        caller checks the corrections and calls :meth:`rebuild_summary` once at the end."""
        now = _now()
        rows = (_event_row(e, now, origin) for e in events)
        before = self.conn.total_changes
        self.conn.executemany("INSERT OR IGNORE " + _INTO_EVENTS, rows)
        return self.conn.total_changes - before

    def put_actions(self, actions: Iterable[Action]) -> tuple[int, int]:
        added = updated = 0
        for a in actions:
            row = (a.home, a.title, a.due.isoformat(), a.source, a.owner, _iso(a.created))
            old = self.conn.execute(
                "SELECT home, title, due, source, owner, created FROM actions WHERE id = ?", (a.id,)
            ).fetchone()
            if old is None:
                self.conn.execute(
                    "INSERT INTO actions VALUES (?,?,?,?,?,?,?,?)", (a.id, *row, _now())
                )
                added += 1
            elif tuple(old) != row:
                self.conn.execute(
                    "UPDATE actions SET home=?, title=?, due=?, source=?, owner=?, created=? WHERE id=?",
                    (*row, a.id),
                )
                updated += 1
        return added, updated

    def put_rules(self, rules: Iterable[Rule]) -> int:
        n = 0
        for r in rules:
            definition = json.dumps(rule_to_dict(r), sort_keys=True)
            old = self.conn.execute(
                "SELECT definition FROM user_rules WHERE key = ?", (r.key,)
            ).fetchone()
            if old is None or old[0] != definition:
                self.conn.execute(
                    "INSERT OR REPLACE INTO user_rules VALUES (?,?,?,?)",
                    (r.key, definition, r.origin, _now()),
                )
                n += 1
        return n

    def put_holidays(self, overrides: Iterable[HolidayOverride]) -> int:
        n = 0
        for o in overrides:
            cur = self.conn.execute(
                "INSERT OR REPLACE INTO holiday_overrides VALUES (?,?,?,?)",
                (o.nation, o.date.isoformat(), o.op, o.name),
            )
            n += cur.rowcount
        return n

    def put_network(self, network: dict[str, str]) -> None:
        for k, v in network.items():
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"network.{k}", v))

    def refresh_summary(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Rewrite the summary rows of these (home, rule) pairs from the log."""
        for home, rule in pairs:
            rows = self.conn.execute(
                f"SELECT date, expires FROM events e WHERE home = ? AND rule = ? AND kind = 'done' AND {NOT_SUPERSEDED} ORDER BY date, seq",
                (home, rule),
            ).fetchall()
            if not rows:
                self.conn.execute("DELETE FROM summary WHERE home = ? AND rule = ?", (home, rule))
                continue
            dates = sorted({r[0] for r in rows})
            months = sorted({d[:7] for d in dates})
            expiries = {r[0]: r[1] for r in rows if r[1]}
            self.conn.execute(
                "INSERT OR REPLACE INTO summary VALUES (?,?,?,?,?,?,?)",
                (
                    home,
                    rule,
                    ",".join(dates),
                    ",".join(months),
                    dates[0],
                    dates[-1],
                    json.dumps(expiries, sort_keys=True) if expiries else None,
                ),
            )

    def rebuild_summary(self) -> None:
        """Recompute the whole summary index from the log."""
        self.conn.execute("DELETE FROM summary")
        pairs = self.conn.execute(
            "SELECT DISTINCT home, rule FROM events WHERE kind = 'done' AND rule != 'action'"
        ).fetchall()
        self.refresh_summary((r[0], r[1]) for r in pairs)

    def summary_rows(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.conn.execute("SELECT * FROM summary ORDER BY home, rule")]

    # -- calendar feeds ------------------------------------------------------------------------

    def subscriptions(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return [
            dict(r)
            for r in self.conn.execute(f"SELECT * FROM subscriptions{where} ORDER BY name, id")
        ]

    def subscription_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The active subscription whose token hashes to ``token_hash`` (None if unknown or revoked)."""
        r = self.conn.execute(
            "SELECT * FROM subscriptions WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
        ).fetchone()
        return dict(r) if r is not None else None

    def add_subscription(
        self, name: str, token_hash: str, homes: list[str], rules: list[str]
    ) -> None:
        """Call inside transaction()."""
        self.conn.execute(
            "INSERT INTO subscriptions (name, token_hash, homes, rules, created_at) VALUES (?,?,?,?,?)",
            (name, token_hash, json.dumps(homes), json.dumps(rules), _now()),
        )

    def revoke_subscription(self, name: str) -> bool:
        """Call inside transaction(). False when there is no active subscription of that name."""
        cur = self.conn.execute(
            "UPDATE subscriptions SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (_now(), name),
        )
        return cur.rowcount > 0

    def change_stamps(self) -> dict[str, str]:
        """When homes, user rules and actions were last written ("home:ID", "rule:KEY",
        "action:ID" -> ISO UTC): the calendar's LAST-MODIFIED of what they show."""
        out: dict[str, str] = {}
        for prefix, sql in (
            ("home", "SELECT id, updated_at FROM homes"),
            ("rule", "SELECT key, recorded_at FROM user_rules"),
            ("action", "SELECT id, recorded_at FROM actions"),
        ):
            for k, v in self.conn.execute(sql):
                if v:
                    out[f"{prefix}:{k}"] = v
        return out


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (triggers contain semicolons inside BEGIN ... END)."""
    out, buf = [], ""
    for part in sql.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    return out


def _now() -> str:
    from .clock import now_utc

    return now_utc().replace(microsecond=0).isoformat().replace("+00:00", "Z")


def open_store(path: Path, *, create: bool = True) -> Store:
    """Open (and, if allowed, create and migrate) the database at ``path``."""
    path = Path(path).expanduser()
    exists = path.exists()
    if not exists:
        if not create:
            raise StoreError(
                f"no database at {path}; run 'compliance init' or 'compliance demo' first"
            )
        try:
            _create_private(path)
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {exc.strerror}") from None
    elif path.is_dir():
        raise StoreError(f"{path} is a directory; give --db a file path")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a compliance database ({exc})") from None
    store = Store(path, conn)
    try:
        if create or store.schema_version() < len(MIGRATIONS):
            store.migrate()
        elif store.schema_version() > len(MIGRATIONS):
            raise StoreError(
                f"{path} was written by a newer version of compliance; upgrade compliance"
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path} is not a compliance database ({exc})") from None
    return store

"""The agenda: the engine's open occurrences kept as a derived index, and ``due`` read from it.

``compliance due`` on a national network would otherwise run the scheduler on tens of thousands
of (home, rule) pairs at every call. So every write transaction also stores, for each home it
touched, the open occurrences the engine computes from the log as it stands, up to a horizon
(``until``) far past the home's latest event (``horizon``). That is exact for any as-of on or
after the home's latest event and any listing that ends by ``until``: from then on nothing can
close or open an occurrence but a new write, and a write drops the home's row in
``pending_homes`` (SQLite triggers, whoever writes) until its agenda is recomputed. Only the
status depends on the day, and it is decided at query time from the stored due date and the day
the occurrence turns due (``due_from``, :func:`compliance.engine.due_from`).

An agenda row is never a fact: it is rebuilt from the log whenever the rules, bank holidays,
code or the home's records change, and a home the agenda cannot vouch for is computed by the
engine in full. This module needs only the standard library, so that the plain ``due`` and
``overdue`` command lines answer without importing the scheduler.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import zlib
from collections.abc import Iterator, Sequence

TYPE_CHECKING = False  # typing and pathlib are not light: this module is the fast route's
if TYPE_CHECKING:
    from typing import Any

AGENDA_VERSION = 2
INDEX_DAYS = 800  # the agenda looks this far past a home's latest event; further is computed
FINGERPRINT_KEY = "pending.fingerprint"

HERE = os.path.dirname(os.path.realpath(__file__))
# What the agenda's rows depend on besides the database: the scheduling code and the rule packs.
_STAMPED = (
    *(f"{m}.py" for m in ("agenda", "status", "engine", "dates", "workdays", "model", "rules")),
    "service.py",
    "store.py",
    *(f"schedules/{p}.toml" for p in ("england", "wales", "scotland")),
)
_CODE_STAMP: str | None = None


def code_stamp() -> str:
    """The code, the shipped rule packs and the ``holidays`` release the agenda was built with."""
    global _CODE_STAMP
    if _CODE_STAMP is None:
        parts = []
        for name in _STAMPED:
            try:
                with open(os.path.join(HERE, name), "rb") as f:
                    data = f.read()
                parts.append(f"{name}:{len(data)}:{zlib.crc32(data):08x}")
            except OSError:
                parts.append(f"{name}:?")
        # the holidays release, from its dist-info name (importlib.metadata costs 100 ms here)
        found = "?"
        for entry in sys.path:
            try:
                names = os.listdir(entry or ".")
            except OSError:
                continue
            hits = [n for n in names if n.startswith("holidays-") and n.endswith(".dist-info")]
            if hits:
                found = max(hits)
                break
        parts.append(found)
        _CODE_STAMP = ";".join(parts)
    return _CODE_STAMP


def fingerprint(conn: sqlite3.Connection) -> str:
    """Identifies everything the agenda was computed from besides the homes' own records: this
    code and its rule packs, the user rules and the bank holiday overrides as stored (their raw
    rows: nothing is parsed, so the read path stays light)."""
    h = zlib.crc32(code_stamp().encode())
    n = 0
    for sql in (
        "SELECT key, definition FROM user_rules ORDER BY key",
        "SELECT nation, date, op, coalesce(name, '') FROM holiday_overrides ORDER BY nation, date",
    ):
        for row in conn.execute(sql):
            text = "\x1f".join(row).encode()
            h = zlib.crc32(text + b"\x1e", h)
            n += 1
    return f"v{AGENDA_VERSION}-{INDEX_DAYS}-{n}-{h:08x}"


def is_current(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT_KEY,)).fetchone()
    return row is not None and row[0] == fingerprint(conn)


def _json_list(values: Sequence[str] | None) -> str | None:
    return None if values is None else json.dumps(sorted(set(values)))


# A home's row vouches for its agenda on :day up to :until: nothing recorded after :day, and
# written far enough ahead.
_VOUCHED = "ph.horizon <= :day AND ph.until >= :until"


def unvouched(
    conn: sqlite3.Connection, as_of: dt.date, until: dt.date, homes: Sequence[str] | None
) -> list[str]:
    """The homes (of ``homes``, else all) whose agenda cannot answer for ``as_of`` up to
    ``until``: changed since it was written, with a record dated after ``as_of``, or asked
    past the agenda's horizon. The engine computes these in full."""
    want = _json_list(homes)
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM homes h WHERE NOT EXISTS (SELECT 1 FROM pending_homes ph "
            f"WHERE ph.home = h.id AND {_VOUCHED})"
            + ("" if want is None else " AND h.id IN (SELECT value FROM json_each(:want))")
            + " ORDER BY id",
            {"day": as_of.isoformat(), "until": until.isoformat(), "want": want},
        )
    ]


Row = tuple[str, str, str, str, str, str, str | None]  # home, rule, period, start, due, from, title


def _where(homes: Sequence[str] | None, rules: Sequence[str] | None) -> str:
    """The agenda rows due by :until of the homes vouched for on :day (of :want, of :keys)."""
    return (
        f"ph.home = a.home AND a.due <= :until AND {_VOUCHED}"
        + ("" if homes is None else " AND a.home IN (SELECT value FROM json_each(:want))")
        + ("" if rules is None else " AND a.rule IN (SELECT value FROM json_each(:keys))")
    )


def _args(
    as_of: dt.date, until: dt.date, homes: Sequence[str] | None, rules: Sequence[str] | None
) -> dict[str, Any]:
    return {
        "day": as_of.isoformat(),
        "until": until.isoformat(),
        "want": _json_list(homes),
        "keys": _json_list(rules),
    }


def rows(
    conn: sqlite3.Connection,
    as_of: dt.date,
    until: dt.date,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
) -> list[Row]:
    """The agenda's occurrences due by ``until`` of the vouched homes (of ``homes``, else all),
    of ``rules`` (keys; else all), ordered by due date, home, rule and period."""
    cur = conn.cursor()
    cur.row_factory = None
    return cur.execute(
        "SELECT a.home, a.rule, a.period, a.window_start, a.due, a.due_from, a.title "
        f"FROM agenda a CROSS JOIN pending_homes ph WHERE {_where(homes, rules)} "
        "ORDER BY a.due, a.home, a.rule, a.period",
        _args(as_of, until, homes, rules),
    ).fetchall()


# The item of ``due --format json``, built by SQLite: byte for byte what json.dumps(item,
# ensure_ascii=False) makes of Item.as_dict() (json_quote escapes as it does, a test checks),
# with each rule's constant parts encoded once when the agenda was written (agenda_rules).
# The status is status.status_at in SQL; the order is engine.sort_key's: by due date, then
# urgency (for one due date only "due" and "upcoming" can differ: due_from decides), home,
# rule, period.
_STATUS = (
    "CASE WHEN :day > a.due THEN 'overdue' WHEN :day >= a.due_from THEN 'due' ELSE 'upcoming' END"
)
_ITEM = (
    'SELECT format(\'{"id": %s, "home": %s, "home_name": %s, "rule": %s, '
    '"title": %s, "window_start": "%s", "due": "%s", "status": "%s", '
    '"days_left": %d%s\', '
    "json_quote(a.home || '/' || a.rule || '/' || a.period), json_quote(a.home), "
    "json_quote(h.name), json_quote(a.rule), "
    "CASE WHEN a.title IS NULL THEN r.title_json ELSE json_quote(r.title || ': ' || a.title) END, "
    f"a.window_start, a.due, {_STATUS}, (unixepoch(a.due) - unixepoch(:day)) / 86400, r.tail) "
    "FROM agenda a CROSS JOIN pending_homes ph CROSS JOIN homes h CROSS JOIN agenda_rules r "
    "WHERE h.id = a.home AND r.key = a.rule AND /*where*/ "
    "ORDER BY a.due, a.due_from > :day, a.home, a.rule, a.period"
)


def rule_fragments(title: str, source: str, basis: str) -> tuple[str, str]:
    """A rule's constant parts of a listing item, JSON-encoded once: its title, and the end of
    the item (source and basis)."""
    tail = f', "source": {json.dumps(source, ensure_ascii=False)}, "basis": {json.dumps(basis, ensure_ascii=False)}}}'
    return json.dumps(title, ensure_ascii=False), tail


def listing(
    conn: sqlite3.Connection,
    as_of: dt.date,
    days: int,
    homes: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> Iterator[str] | None:
    """``due`` read from the agenda alone: the items of ``compliance due --format json``, each
    as its JSON text, most urgent first, produced as they are read (a listing of any length
    takes little memory). None when the agenda cannot answer by itself (an index for other
    code or rules, a home it cannot vouch for, an unknown home or rule, a negative horizon):
    the caller computes then."""
    if days < 0 or not is_current(conn):
        return None
    until = as_of + dt.timedelta(days=days)
    if homes:
        want = _json_list(homes)
        found = conn.execute(
            "SELECT count(*) FROM homes WHERE id IN (SELECT value FROM json_each(?))", (want,)
        ).fetchone()[0]
        if found != len(set(homes)):
            return None
    keys = None
    if rules:
        alias: dict[str, str] = {}
        for key, aliases in conn.execute("SELECT key, aliases FROM agenda_rules"):
            alias[key] = key
            for a in json.loads(aliases):
                alias.setdefault(a, key)
        if any(r not in alias for r in rules):
            return None
        keys = [alias[r] for r in rules]
    if unvouched(conn, as_of, until, homes):
        return None
    where = _where(homes, keys)
    args = _args(as_of, until, homes, keys)
    if statuses:
        where += f" AND {_STATUS} IN (SELECT value FROM json_each(:statuses))"
        args["statuses"] = _json_list(statuses)
    cur = conn.cursor()
    cur.row_factory = None
    cur.arraysize = 512
    found_rows = cur.execute(_ITEM.replace("/*where*/", where), args)
    return (text for (text,) in found_rows)

"""Export the database as a fixture file: loading it into a new database gives the same dates.

The document is written as a stream of pieces, a record at a time, so a national log (~850,000
events) is never held whole, neither as rows nor as text. The bytes are exactly those of
``tomli_w.dumps`` of the whole document (what this module wrote before it streamed, and what
the tests compare it with), which fixes two things about the assembly:

* tomli_w writes an array of tables as an inline array (``key = [{...}, ...]``) when every one
  of its tables fits on a line, and inline arrays are plain values, written before every table
  (``[network]`` included). So whether each list is inline is decided first, by a pass that
  stops at the first record too long for a line (usually the first one).
* At the top level every table, and every table of an array, is preceded by a blank line
  (``schema = 1`` always comes first); a record of a streamed list holds scalars only, so its
  table is ``[[key]]`` followed by ``tomli_w.dumps`` of the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from .model import Action, Event, Home
from .rules import rule_to_dict
from .store import Store

HEADER = "# Exported by 'compliance export'. Load it with 'compliance load FILE'.\n"

# A record of a streamed list: scalars only (a datetime is a date), so tomli_w writes each
# value on its own line and the record never holds a table of its own.
Scalar = str | int | bool | dt.date
Record = dict[str, Scalar]

PIECE = 64 * 1024  # characters gathered before a piece is handed to the writer


def home_record(h: Home) -> Record:
    row: Record = {"id": h.id, "name": h.name, "nation": h.nation, "secure": h.secure, "yjb": h.yjb}
    for k in ("since", "urn", "url", "local_authority", "sector", "places", "provision"):
        v = getattr(h, k)
        if v is not None:
            row[k] = v
    return row


def event_record(e: Event) -> Record:
    row: Record = {"id": e.id, "home": e.home, "rule": e.rule}
    # the instant when one was given (as recorded, in UTC), else the local date
    row["date"] = dt.datetime.fromisoformat(e.at.replace("Z", "+00:00")) if e.at else e.date
    for k in ("by", "evidence", "notes", "outcome", "expires", "supersedes"):
        v = getattr(e, k)
        if v is not None:
            row[k] = v
    return row


def waiver_record(e: Event) -> Record:
    row: Record = {
        "id": e.id,
        "occurrence": e.target or "",
        "reason": e.notes or "",
        "date": e.date,
    }
    if e.by:
        row["by"] = e.by
    return row


def action_record(a: Action, done: dt.date | None) -> Record:
    row: Record = {"id": a.id, "home": a.home, "title": a.title, "due": a.due}
    for k in ("source", "owner", "created"):
        v = getattr(a, k)
        if v is not None:
            row[k] = v
    if done is not None:
        row["done"] = done
    return row


def _inline_line(key: str, row: Record) -> str | None:
    """The line tomli_w gives ``row`` inside an inline array, or None if it would not fit one."""
    import tomli_w

    text = tomli_w.dumps({key: [row]})
    head = f"{key} = [\n"
    return text[len(head) : -len("]\n")] if text.startswith(head) else None


def _shape(key: str, rows: Iterable[Record]) -> tuple[bool, bool]:
    """Whether the list has records, and whether tomli_w would write it as an inline array (all
    of them fit a line). Stops at the first record that does not fit."""
    empty = True
    for row in rows:
        empty = False
        if _inline_line(key, row) is None:
            return True, False
    return not empty, True


def _inline_array(key: str, rows: Iterable[Record]) -> Iterator[str]:
    yield f"{key} = ["
    empty = True
    for row in rows:
        if empty:
            yield "\n"
            empty = False
        line = _inline_line(key, row)
        assert line is not None  # _shape said so
        yield line
    yield "]\n"


def _tables(key: str, rows: Iterable[Record]) -> Iterator[str]:
    import tomli_w

    head = f"\n[[{key}]]\n"
    for row in rows:
        yield head + tomli_w.dumps(row)


def export_text(store: Store) -> Iterator[str]:
    """The fixture file of the whole database, in pieces of text, read in one snapshot."""
    import tomli_w

    with store.reading():
        net = store.network()
        homes = store.homes()
        # When each action was first closed: the earliest of its completions, corrected ones too
        # (an action has a single ``done``; its completions are not listed as events).
        done = store.action_completions()
        actions = store.actions()
        rules = [rule_to_dict(r) for r in store.user_rules()]
        holidays = [
            {
                "nation": o.nation,
                "date": o.date,
                "name": o.name,
                **({"remove": True} if o.op == "remove" else {}),
            }
            for o in store.holiday_overrides()
        ]

        def events(ordered: bool) -> Iterator[Record]:
            it = store.iter_events(waivers=False, action_completions=False, ordered=ordered)
            return (event_record(e) for e in it)

        def waivers(ordered: bool) -> Iterator[Record]:
            return (waiver_record(e) for e in store.iter_events(waivers=True, ordered=ordered))

        def action_rows(ordered: bool) -> Iterator[Record]:
            return (action_record(a, done.get(a.id)) for a in actions)

        def home_rows(ordered: bool) -> Iterator[Record]:
            return (home_record(h) for h in homes)

        # In the document's order; the homes list is there even when empty, the others only
        # when not. Whether a list is inline does not depend on its order, so that pass reads
        # the log unsorted: it does not wait for a sort of every event to look at one.
        streamed: list[tuple[str, Callable[[bool], Iterator[Record]]]] = [
            ("homes", home_rows),
            ("events", events),
            ("actions", action_rows),
            ("waivers", waivers),
        ]
        inline: dict[str, bool] = {}  # the lists written, and whether each is inline
        for key, rows in streamed:
            present, inline[key] = _shape(key, rows(False))
            if not present and key != "homes":
                del inline[key]
        # rules and bank-holiday corrections are few, and rules hold tables of their own
        small = [(k, v) for k, v in (("rules", rules), ("holidays", holidays)) if v]
        small_text = {k: tomli_w.dumps({k: v}) for k, v in small}

        yield HEADER
        yield "schema = 1\n"
        for key, rows in streamed:
            if inline.get(key):
                yield from _inline_array(key, rows(True))
        for key, _ in small:
            if small_text[key].startswith(f"{key} = "):
                yield small_text[key]
        if net:
            yield "\n" + tomli_w.dumps(
                {"network": {k.removeprefix("network."): v for k, v in net.items()}}
            )
        for key, rows in streamed:
            if key in inline and not inline[key]:
                yield from _tables(key, rows(True))
        for key, _ in small:
            if not small_text[key].startswith(f"{key} = "):
                yield "\n" + small_text[key]


def export_pieces(store: Store) -> Iterator[bytes]:
    """:func:`export_text` encoded as UTF-8, in pieces of about 64 KB for the writer."""
    buf: list[str] = []
    size = 0
    for text in export_text(store):
        buf.append(text)
        size += len(text)
        if size >= PIECE:
            yield "".join(buf).encode("utf-8")
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")

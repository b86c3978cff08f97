"""The command line's entry point, and the part of it that needs no ``typer``.

``compliance due`` and ``compliance overdue`` are what cron jobs and reports run all day, so their
plain forms are parsed here, by a strict little reader that knows only their options, without
importing ``typer`` and ``click`` (about 60 ms of every run). Anything it does not recognise
(``--help``, an unknown or repeated option, a malformed value, any other command) goes to the
``typer`` application in :mod:`compliance.cli`, which gives the usual help and errors. Both
routes run the same functions below, so their output is the same (a test compares them).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

from .errors import EXIT_FAILED, ComplianceError, InvalidInput

TYPE_CHECKING = False  # typing and pathlib cost ~10 ms: the plain listings do without them
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

FORMATS = ("table", "json", "csv")


class State:
    db: str | None = None  # the global --db option


STATE = State()


# -- helpers shared by every command ------------------------------------------------------------


def db_path() -> Path:
    from .paths import resolve_db

    return resolve_db(STATE.db)


def open_network(create: bool = False) -> Any:
    from .service import Network
    from .store import open_store

    return Network.open(open_store(db_path(), create=create))


def as_of_date(text: str | None) -> dt.date:
    if text is None:
        from .clock import today

        return today()
    return option_date(text, "--as-of")


def option_date(text: str, option: str) -> dt.date:
    """The YYYY-MM-DD value of a date option; the error names ``option``, as the user typed it."""
    t = text.strip()
    if len(t) == 10 and t[4] == t[7] == "-" and (t[:4] + t[5:7] + t[8:]).isdigit():
        try:  # the common case, without importing dates (not light): its is_iso_form
            return dt.date.fromisoformat(t)
        except ValueError:
            pass
    from .dates import parse_date  # says what is wrong

    try:
        return parse_date(text)
    except ValueError as exc:
        raise InvalidInput(f"{option}: {exc}") from None


def colour() -> bool:
    from .output import colour_enabled

    return colour_enabled(sys.stdout)


def emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def listing_out(
    fmt: str,
    headers: list[str],
    rows: list[list[Any]],
    *,
    empty: str | None,
    extra: dict[str, Any] | None = None,
    items: list[dict[str, Any]] | None = None,
    shown: int | None = None,
    colour_col: int | None = None,
) -> None:
    """A listing as JSON (the ``extra`` keys, then ``items``: by default each row keyed by its
    headers), CSV (every column), or a table of the first ``shown`` columns (``empty`` instead
    when there are no rows and it is given; the state in ``colour_col`` picks the colour)."""
    from . import output

    if fmt == "json":
        if items is None:
            items = [dict(zip(headers, r, strict=True)) for r in rows]
        emit(output.to_json({**(extra or {}), "items": items}))
    elif fmt == "csv":
        emit(output.to_csv(headers, rows))
    elif not rows and empty is not None:
        emit(empty)
    else:
        n = len(headers) if shown is None else shown
        paint = colour_col is not None and colour()
        emit(output.table(headers[:n], [r[:n] for r in rows], colour_col=colour_col, colour=paint))


def items_out(
    items: Iterable[str], fmt: str, as_of: dt.date, extra: dict[str, Any], empty: str
) -> None:
    """A listing of occurrences, given as the JSON texts of its items (``--format json``'s): JSON
    is written as they come, so a listing of any length takes little memory."""
    import json

    from . import output

    if fmt == "json":
        head = output.to_json({"as_of": as_of.isoformat(), **extra, "items": []})
        out = sys.stdout
        out.write(head[:-2])  # everything up to the items' closing "]}"
        sep = ""
        for text in items:
            out.write(sep + text)
            sep = ", "
        out.write("]}\n")
        out.flush()
        return
    headers = ["due", "days", "status", "home", "rule", "title", "id"]
    fields = ["due", "days_left", "status", "home", "rule", "title", "id"]
    if fmt == "csv":  # streamed too
        rows_in = ([it[f] for f in fields] for it in map(json.loads, items))
        output.write_csv(sys.stdout, headers, rows_in)
        sys.stdout.flush()
        return
    found = [json.loads(text) for text in items]  # a table needs every row for its widths
    rows = [[it[f] for f in fields] for it in found]
    if not found:
        emit(empty)
        return
    emit(output.table(headers, rows, colour_col=2, colour=colour()))
    order = ["overdue", "due", "upcoming"]
    counts: dict[str, int] = {}
    for it in found:
        counts[it["status"]] = counts.get(it["status"], 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9)
    emit("\n" + ", ".join(f"{n} {s}" for s, n in ranked))


# -- the two listing commands (typer's commands call these too) --------------------------------


def listed(
    fmt: str,
    day: dt.date,
    days: int,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    extra: dict[str, Any],
    empty: str,
    statuses: Sequence[str] | None = None,
) -> bool:
    """Write the listing of ``due``; True if anything is in it. From the agenda alone when it
    can answer (nothing of the scheduler is imported), else from the service, which computes
    what the agenda cannot vouch for. Both give the same items, byte for byte."""
    import sqlite3

    from . import agenda
    from .paths import explicit_db

    path = explicit_db(STATE.db) or str(db_path())
    conn = None
    try:
        if os.path.isfile(path):  # else the service says what is wrong
            conn = sqlite3.connect(path, isolation_level=None, timeout=10)
            texts = agenda.listing(conn, day, days, homes, rules, statuses)
            if texts is not None:
                seen = _Counted(texts)
                items_out(seen, fmt, day, extra, empty)
                return seen.count > 0
    except sqlite3.Error:
        pass  # not a database of this version, say: the service explains
    finally:
        if conn is not None:
            conn.close()
    import json

    from .service import due

    found = due(open_network(), day, days, homes=homes, rules=rules, statuses=statuses)
    items_out(
        (json.dumps(it.as_dict(), ensure_ascii=False) for it in found), fmt, day, extra, empty
    )
    return bool(found)


class _Counted:
    """An iterable that counts what it gave."""

    def __init__(self, items: Iterable[str]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for text in self.items:
            self.count += 1
            yield text


def run_due(
    days: int,
    as_of: str | None,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    fmt: str,
) -> None:
    day = as_of_date(as_of)
    empty = f"Nothing overdue or due within {days} days of {day}."
    listed(fmt, day, days, homes, rules, {"days": days}, empty)


def run_overdue(
    as_of: str | None,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    fmt: str,
    fail: bool,
) -> int:
    """Returns the exit code: EXIT_FAILED with ``fail`` when anything is overdue."""
    day = as_of_date(as_of)
    empty = f"Nothing overdue as of {day}."
    anything = listed(fmt, day, 0, homes, rules, {}, empty, ["overdue"])
    return EXIT_FAILED if fail and anything else 0


# -- the fast route -----------------------------------------------------------------------------

_VALUED = {
    "--days": "days",
    "-d": "days",
    "--as-of": "as_of",
    "--home": "home",
    "-H": "home",
    "--rule": "rule",
    "-r": "rule",
    "--format": "format",
    "-f": "format",
}
_REPEATABLE = {"home", "rule"}
_ALLOWED = {
    "due": {"days", "as_of", "home", "rule", "format"},
    "overdue": {"as_of", "home", "rule", "format", "fail"},
}


def parse_fast(argv: Sequence[str]) -> tuple[str | None, str, dict[str, Any]] | None:
    """(db, command, options) for a plain ``[--db PATH] due|overdue [options]`` command line, or
    None for anything else (which typer then handles)."""
    args = list(argv)
    db: str | None = None
    while args and args[0].startswith("--db"):
        head = args.pop(0)
        if head == "--db" and args and not args[0].startswith("-") and db is None:
            db = args.pop(0)
        elif head.startswith("--db=") and db is None:
            db = head[len("--db=") :]
        else:
            return None
    if not args or args[0] not in _ALLOWED:
        return None
    command, rest = args[0], args[1:]
    opts: dict[str, Any] = {"home": [], "rule": []}
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if token == "--fail":
            name, value = "fail", "1"
        else:
            flag, eq, attached = token.partition("=")
            name = _VALUED.get(flag, "")
            if not name or (eq and not flag.startswith("--")):
                return None
            if eq:
                value = attached
            elif i < len(rest) and not rest[i].startswith("-"):
                value = rest[i]
                i += 1
            else:
                return None
        if name not in _ALLOWED[command] or (name in seen and name not in _REPEATABLE):
            return None
        seen.add(name)
        if name in _REPEATABLE:
            opts[name].append(value)
        elif name == "days":
            if not value.isascii() or not value.isdigit():
                return None
            opts["days"] = int(value)
        elif name == "format":
            if value not in FORMATS:
                return None
            opts["format"] = value
        elif name == "fail":
            opts["fail"] = True
        else:
            opts[name] = value
    return db, command, opts


def _run_fast(parsed: tuple[str | None, str, dict[str, Any]]) -> int:
    db, command, o = parsed
    STATE.db = db
    homes, rules, fmt = o["home"] or None, o["rule"] or None, o.get("format", "table")
    if command == "due":
        run_due(o.get("days", 30), o.get("as_of"), homes, rules, fmt)
        return 0
    return run_overdue(o.get("as_of"), homes, rules, fmt, o.get("fail", False))


def guarded(run: Callable[[], object]) -> None:
    """Every error is one line and a documented exit code, never a traceback."""
    try:
        run()
    except ComplianceError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # never show a traceback (or locals: the data concerns children)
        if os.environ.get("COMPLIANCE_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc} (set COMPLIANCE_DEBUG=1 for details)\n"
        )
        sys.exit(70)


def main() -> None:
    """Console entry point."""
    parsed = None if os.environ.get("COMPLIANCE_NO_FAST_PATH") else parse_fast(sys.argv[1:])

    def run() -> None:
        if parsed is not None:
            code = _run_fast(parsed)
            if code:
                sys.exit(code)
            return
        from .cli import app

        app()

    guarded(run)

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import EXIT_FAILED, ComplianceError, InvalidInput

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
    from .clock import today
    from .dates import parse_date

    if text is None:
        return today()
    try:
        return parse_date(text)
    except ValueError as exc:
        raise InvalidInput(f"--as-of: {exc}") from None


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
    items: list[Any], fmt: str, as_of: dt.date, extra: dict[str, Any], empty: str
) -> None:
    from . import output

    if fmt == "json":
        emit(
            output.to_json(
                {"as_of": as_of.isoformat(), **extra, "items": [it.as_dict() for it in items]}
            )
        )
        return
    headers = ["due", "days", "status", "home", "rule", "title", "id"]
    rows = [
        [
            it.occ.due.isoformat(),
            it.occ.days_left(as_of),
            it.occ.status,
            it.home.id,
            it.rule.key,
            it.title,
            it.occ.id,
        ]
        for it in items
    ]
    if fmt == "csv":
        emit(output.to_csv(headers, rows))
        return
    if not items:
        emit(empty)
        return
    emit(output.table(headers, rows, colour_col=2, colour=colour()))
    order = ["overdue", "due", "upcoming"]
    counts: dict[str, int] = {}
    for it in items:
        counts[it.occ.status] = counts.get(it.occ.status, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9)
    emit("\n" + ", ".join(f"{n} {s}" for s, n in ranked))


# -- the two listing commands (typer's commands call these too) --------------------------------


def run_due(
    days: int,
    as_of: str | None,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    fmt: str,
) -> None:
    from .service import due

    day = as_of_date(as_of)
    items = due(open_network(), day, days, homes=homes, rules=rules)
    items_out(
        items, fmt, day, {"days": days}, f"Nothing overdue or due within {days} days of {day}."
    )


def run_overdue(
    as_of: str | None,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    fmt: str,
    fail: bool,
) -> int:
    """Returns the exit code: EXIT_FAILED with ``fail`` when anything is overdue."""
    from .service import due

    day = as_of_date(as_of)
    items = due(open_network(), day, 0, homes=homes, rules=rules, statuses=["overdue"])
    items_out(items, fmt, day, {}, f"Nothing overdue as of {day}.")
    return EXIT_FAILED if fail and items else 0


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

"""The ``compliance`` command: a thin shell over :mod:`compliance.service`.

Each command parses its options, calls one core function and renders the result. Heavy libraries
(sqlite-utils, textual, icalendar) are imported inside the commands that need them, so that
``compliance due`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .errors import InvalidInput
from .shell import STATE, listing_out, run_due, run_overdue
from .shell import as_of_date as _as_of
from .shell import colour as _colour
from .shell import db_path as _db_path
from .shell import emit as _emit
from .shell import open_network as _net

app = typer.Typer(
    name="compliance",
    help=(
        "Statutory inspection and compliance deadlines of secure children's homes.\n\n"
        "Examples:\n\n"
        "  compliance demo                      # build a demo database\n\n"
        "  compliance due --days 30             # what is overdue or due in 30 days\n\n"
        "  compliance record northgate reg44-visit --date 2026-11-14 --by 'A. Visitor'\n\n"
        "  compliance why northgate/reg44-visit/2026-11"
    ),
    no_args_is_help=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
action_app = typer.Typer(
    help="Dated actions: Ofsted requirements and visit recommendations.", no_args_is_help=True
)
app.add_typer(action_app, name="action")


class Fmt(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


# Options shared by many commands, defined once.
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Compute as if today were this date (default: today in Europe/London).",
    ),
]
Format = Annotated[Fmt, typer.Option("--format", "-f", help="Output format.")]
Homes = Annotated[
    list[str] | None,
    typer.Option("--home", "-H", metavar="ID", help="Only this home (repeatable)."),
]
Rules = Annotated[
    list[str] | None,
    typer.Option(
        "--rule", "-r", metavar="KEY", help="Only this rule (repeatable; aliases accepted)."
    ),
]


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file (default: $COMPLIANCE_DB, else your user data directory).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """Statutory inspection and compliance deadlines of secure children's homes."""
    STATE.db = db
    if version:
        from . import __version__

        typer.echo(f"compliance {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            _open_tui(None)
        else:
            typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _open_tui(as_of: str | None) -> None:
    try:
        from .tui.app import run as run_tui
    except ImportError:
        typer.echo(
            "The TUI is not available in this build; use 'compliance due' or 'compliance --help'.",
            err=True,
        )
        raise typer.Exit(2) from None
    # None means "follow the clock" (the day can roll over while the app is open)
    run_tui(_db_path(), _as_of(as_of) if as_of else None)


# -- helpers ------------------------------------------------------------------------------------


def _date_opt(name: str, text: str | None) -> dt.date | None:
    from .dates import parse_date

    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


# -- commands -----------------------------------------------------------------------------------


@app.command()
def init(
    name: Annotated[str | None, typer.Option("--name", help="The network's name.")] = None,
) -> None:
    """Create an empty database (owner-only permissions), or bring an existing one up to date.

    On an existing database it rebuilds the derived indexes that keep 'due' fast (after an
    upgrade, the first write would otherwise do it); the event log is never changed.

    Example: compliance --db network.db init --name "North Secure Network"
    """
    from .service import init_network

    path = _db_path()
    existed = path.exists()
    net = _net(create=True)
    init_network(net, name)
    typer.echo(f"{'Database ready' if existed else 'Created'}: {path}")


@app.command()
def load(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Fixture or rule files (TOML, schema = 1)."),
    ],
) -> None:
    """Load fixture files: homes, events, actions, waivers, rules. All or nothing, and idempotent.

    Example: compliance load fixtures/demo-network.toml
    """
    from .service import load as load_files

    net = _net(create=True)
    res = load_files(net, files)
    parts = [
        f"{res.homes_added} homes added",
        f"{res.homes_updated} updated",
        f"{res.events_added} events added",
        f"{res.actions_added} actions added",
    ]
    if res.rules_changed:
        parts.append(f"{res.rules_changed} rules added or changed")
    if res.holidays:
        parts.append(f"{res.holidays} bank-holiday overrides")
    typer.echo(
        f"Loaded {', '.join(res.files)}: "
        + ", ".join(parts)
        + ("" if res.changed else " (nothing new)")
    )


@app.command()
def homes(fmt: Format = Fmt.table) -> None:
    """List the homes.

    Example: compliance homes --format csv
    """

    net = _net()
    hs = net.store.homes()
    headers = ["id", "name", "nation", "secure", "yjb", "since", "urn"]
    # register details (from 'import ofsted' or a fixture): in JSON and CSV; the table keeps
    # its seven columns, which already fill 80 columns with the imported homes' names
    headers += ["local_authority", "sector", "places", "provision"]
    rows = [
        [
            h.id,
            h.name,
            h.nation,
            h.secure,
            h.yjb,
            h.since.isoformat() if h.since else None,
            h.urn,
            h.local_authority,
            h.sector,
            h.places,
            h.provision,
        ]
        for h in hs
    ]
    listing_out(
        fmt.value,
        headers,
        rows,
        empty="No homes yet: 'compliance load FILE' or 'compliance demo'.",
        shown=7,
    )


@app.command()
def rules(
    home: Annotated[
        str | None,
        typer.Option("--home", "-H", metavar="ID", help="Only the rules that apply to this home."),
    ] = None,
    fmt: Format = Fmt.table,
) -> None:
    """List the rules in force: shipped packs and your own, with cadence, source and basis.

    Example: compliance rules --home northgate
    """
    from .rules import catalogue

    if _db_path().exists():
        net = _net()
        cat = net.cat
        rs = cat.for_home(net.store.home(home)) if home else list(cat.rules.values())
    else:
        if home:
            raise InvalidInput(
                "no database yet, so no homes: run 'compliance demo' or 'compliance load FILE'"
            )
        cat = catalogue()
        rs = list(cat.rules.values())
    headers = [
        "key",
        "title",
        "applies to",
        "cadence",
        "lead days",
        "basis",
        "source",
        "aliases",
        "origin",
    ]
    rows = [
        [
            r.key,
            r.title,
            r.applies_text(),
            r.cadence.describe(),
            r.lead_days,
            r.basis,
            r.source,
            ", ".join(r.aliases),
            r.origin,
        ]
        for r in rs
    ]
    items = [
        dict(zip(headers, row, strict=True)) | {"note": r.note}
        for row, r in zip(rows, rs, strict=True)
    ]
    listing_out(fmt.value, headers, rows, empty=None, items=items, shown=6)


@app.command()
def due(
    days: Annotated[
        int,
        typer.Option("--days", "-d", min=0, help="Include what falls due within this many days."),
    ] = 30,
    as_of: AsOf = None,
    home: Homes = None,
    rule: Rules = None,
    fmt: Format = Fmt.table,
) -> None:
    """List open obligations due on or before as-of + days, overdue ones included, most urgent first.

    Examples:

      compliance due --days 30 --format json

      compliance due --home northgate --rule reg44-visit --as-of 2026-12-01
    """
    run_due(days, as_of, home, rule, fmt.value)


@app.command()
def overdue(
    as_of: AsOf = None,
    home: Homes = None,
    rule: Rules = None,
    fmt: Format = Fmt.table,
    fail: Annotated[
        bool, typer.Option("--fail", help="Exit 1 when anything is overdue (for scripts).")
    ] = False,
) -> None:
    """List overdue obligations only.

    Example: compliance overdue --fail || mail -s "Overdue" manager@example.org
    """
    code = run_overdue(as_of, home, rule, fmt.value, fail)
    if code:
        raise typer.Exit(code)


@app.command()
def record(
    home: Annotated[str, typer.Argument(help="Home id.")],
    rule: Annotated[str, typer.Argument(help="Rule key or alias, e.g. reg44-visit.")],
    date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="YYYY-MM-DD", help="The local date it happened (default: today)."
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATETIME",
            help="When it happened, e.g. 2026-03-31T23:30:00Z (counted on its London date).",
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who did it (a name or role; never a child's name).")
    ] = None,
    evidence: Annotated[
        str | None, typer.Option("--evidence", help="Path or URL of the report.")
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", help="Notes (use references, never a child's name).")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Judgement, for inspections.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="YYYY-MM-DD", help="Expiry printed on an approval."),
    ] = None,
    corrects: Annotated[
        str | None,
        typer.Option(
            "--corrects", metavar="EVENT_ID", help="This record replaces an earlier, wrong one."
        ),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Record that something happened (appended to the log; corrections supersede, never edit).

    Examples:

      compliance record northgate reg44-visit --date 2026-11-14 --by "A. Visitor"

      compliance record northgate licence-renewal --date 2026-07-01 --expires 2029-06-30
    """
    from .service import parse_when
    from .service import record as record_event

    day = _as_of(as_of)
    net = _net()
    when = parse_when(date, at, day)
    ev, new = record_event(
        net,
        home,
        rule,
        when=when,
        as_of=day,
        by=by,
        evidence=evidence,
        notes=notes,
        outcome=outcome,
        expires=_date_opt("--expires", expires),
        supersedes=corrects,
    )
    verb = "Recorded" if new else "Already recorded"
    typer.echo(f"{verb} {ev.rule} for {ev.home} on {ev.date} (event {ev.id}).")


@app.command()
def waive(
    occurrence: Annotated[
        str, typer.Argument(metavar="ID", help="Occurrence id, e.g. northgate/reg44-visit/2026-09.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is waived (required).")],
    by: Annotated[str | None, typer.Option("--by", help="Who waived it.")] = None,
    as_of: AsOf = None,
) -> None:
    """Close an open occurrence without an event, with a reason. The breach stays on record as waived.

    Example: compliance waive northgate/reg44-visit/2026-09 --reason "Visitor ill; covered by RI visit"
    """
    from .service import waive as waive_occ

    day = _as_of(as_of)
    ev = waive_occ(_net(), occurrence, reason, day, by)
    typer.echo(f"Waived {ev.target} on {ev.date} (event {ev.id}).")


@app.command()
def why(
    occurrence: Annotated[
        str,
        typer.Argument(metavar="ID", help="Occurrence id (HOME/RULE/PERIOD), as listed by 'due'."),
    ],
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="table (text) or json.")] = Fmt.table,
) -> None:
    """Explain one date: the rule, its source and basis, the events, each step, the result.

    Example: compliance why northgate/reg45-review/2027-02-28
    """
    from . import output
    from .service import why as explain

    day = _as_of(as_of)
    ex = explain(_net(), occurrence, day)
    if fmt is Fmt.json:
        from .service import explanation_dict

        _emit(output.to_json(explanation_dict(ex, day)))
        return
    from .service import explanation_lines

    lines = explanation_lines(ex, lambda st: output.paint(st, st, _colour()))
    _emit("\n".join(lines))


@app.command()
def history(
    home: Annotated[str, typer.Argument(help="Home id.")],
    rule: Rules = None,
    as_of: AsOf = None,
    events: Annotated[
        bool, typer.Option("--events", help="List the raw event log instead of occurrences.")
    ] = False,
    fmt: Format = Fmt.table,
) -> None:
    """A home's history: every occurrence from tracking start to today (done, late, waived, open).

    Examples:

      compliance history northgate --rule reg44-visit

      compliance history northgate --events --format csv
    """
    from .service import home_occurrences

    day = _as_of(as_of)
    net = _net()
    h = net.store.home(home)
    if events:
        keys = {net.rule(x).key for x in rule} if rule else None
        superseded = net.store.superseded_ids()
        evs = [
            e
            for e in net.store.events(h.id, include_superseded=True)
            if keys is None or e.rule in keys
        ]
        headers = [
            "date",
            "rule",
            "kind",
            "by",
            "outcome",
            "expires",
            "target",
            "notes",
            "id",
            "supersedes",
            "superseded",
        ]
        rows = [
            [
                e.date.isoformat(),
                e.rule,
                e.kind,
                e.by,
                e.outcome,
                e.expires,
                e.target,
                e.notes,
                e.id,
                e.supersedes,
                e.id in superseded,
            ]
            for e in evs
        ]
        listing_out(
            fmt.value, headers, rows, empty="No events recorded.", extra={"home": h.id}, shown=8
        )
        return
    items = home_occurrences(net, h.id, day, day)
    if rule:
        keys = {net.rule(x).key for x in rule}
        items = [it for it in items if it.rule.key in keys]
    items.sort(key=lambda it: (it.rule.key, it.occ.due))
    headers = ["rule", "period", "due", "status", "done on", "id"]
    rows = [
        [
            it.rule.key,
            it.occ.period,
            it.occ.due.isoformat(),
            it.occ.status,
            it.occ.done_on,
            it.occ.id,
        ]
        for it in items
    ]
    listing_out(
        fmt.value,
        headers,
        rows,
        empty="Nothing owed yet.",
        extra={"as_of": day.isoformat(), "home": h.id},
        items=[it.as_dict() for it in items],
        colour_col=3,
    )


@app.command()
def export(
    output_file: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write here ('-' for standard output)."
        ),
    ] = "-",
) -> None:
    """Export the whole database as a fixture file (loading it into a new database gives the same dates).

    Example: compliance export --output backup.toml
    """
    import shutil
    import tempfile

    from .export import export_pieces

    # Written as a stream (a national database is ~95 MB of TOML), and whole or not at all:
    # to a temporary file renamed into place, or, for standard output, to an unlinked
    # temporary file copied out once the last record is written.
    pieces = export_pieces(_net().store)
    if output_file == "-":
        with tempfile.TemporaryFile() as tmp:
            for piece in pieces:
                tmp.write(piece)
            tmp.seek(0)
            sys.stdout.flush()
            shutil.copyfileobj(tmp, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    else:
        write_atomic(Path(output_file), pieces, private=True)  # the whole database
        typer.echo(f"Exported to {output_file}", err=True)


def stage_file(path: Path, data: bytes | Iterable[bytes], *, private: bool = False) -> Path:
    """Write ``data`` (bytes, or pieces written as they come) whole to a new temporary file
    beside ``path`` and return its name: renaming it onto ``path`` (:func:`os.replace`) is the
    caller's, and so is removing it if that does not happen. On any failure, including one of
    the pieces' producer, nothing is left behind.

    ``private`` keeps it readable by its owner only (an export of the database); otherwise it
    gets the usual permissions of the umask, like a file a shell redirect creates (a feed a web
    server must read).
    """
    import tempfile

    path = path.expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                for piece in data:
                    f.write(piece)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes | Iterable[bytes], *, private: bool = False) -> None:
    """Write a file whole or not at all (a temporary file beside it, then a rename); ``data``
    may be bytes or an iterable of pieces (a calendar written as a stream)."""
    tmp = stage_file(path, data, private=private)
    try:
        os.replace(tmp, path.expanduser())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_atomic(path: Path, text: str, *, private: bool = False) -> None:
    write_atomic(path, text.encode("utf-8"), private=private)


@app.command()
def demo(
    as_of: AsOf = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing database at the path.")
    ] = False,
) -> None:
    """Build a demo database of fifteen fictional secure homes, its history placed relative to today.

    Example: compliance --db demo.db demo && compliance --db demo.db due
    """
    from .demo import build_demo_db

    day = _as_of(as_of)
    path = _db_path()
    n = build_demo_db(path, day, force=force)
    typer.echo(f"Demo database with {n} homes written to {path} (as of {day}).")
    typer.echo(f"Try: compliance --db {path} due" if STATE.db else "Try: compliance due")


@app.command()
def tui(as_of: AsOf = None) -> None:
    """Open the terminal interface (also what 'compliance' alone does on a terminal).

    Example: compliance --db demo.db tui
    """
    _open_tui(as_of)


# -- actions ------------------------------------------------------------------------------------


@action_app.command("add")
def action_add(
    home: Annotated[str, typer.Argument(help="Home id.")],
    title: Annotated[str, typer.Argument(help="What must be done.")],
    due_on: Annotated[
        str, typer.Option("--due", metavar="YYYY-MM-DD", help="Due date (required).")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="Where it comes from, e.g. 'ofsted-full 2026-06-10, requirement 1'."
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who owns it (a role or name).")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Add a dated action.

    Example: compliance action add northgate "Review restraint records" --due 2026-12-01 --owner "Registered manager"
    """
    from .service import add_action

    day = _as_of(as_of)
    d = _date_opt("--due", due_on)
    assert d is not None
    a = add_action(_net(), home, title, d, as_of=day, source=source, owner=owner)
    typer.echo(f"Added action {a.id} for {a.home}, due {a.due}.")


@action_app.command("done")
def action_done(
    action_id: Annotated[
        str, typer.Argument(metavar="ID", help="Action id (see 'compliance action list').")
    ],
    date: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="When it was done (default: today)."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who closed it.")] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Notes.")] = None,
    as_of: AsOf = None,
) -> None:
    """Close an action.

    Example: compliance action done a-1b2c3d4e5f --date 2026-11-20
    """
    from .service import close_action

    day = _as_of(as_of)
    ev = close_action(_net(), action_id, _date_opt("--date", date) or day, day, by, notes)
    typer.echo(f"Closed action {ev.target} on {ev.date}.")


@action_app.command("list")
def action_list(
    home: Homes = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed actions.")] = False,
    as_of: AsOf = None,
    fmt: Format = Fmt.table,
) -> None:
    """List actions (open ones unless --all).

    Example: compliance action list --home northgate --format json
    """
    from .service import action_items

    day = _as_of(as_of)
    items = action_items(_net(), day, homes=home, include_closed=all_)
    headers = ["id", "home", "title", "due", "days", "status", "owner", "source", "done on"]
    rows = [
        [
            it.occ.period,
            it.home.id,
            it.occ.title,
            it.occ.due.isoformat(),
            it.occ.days_left(day),
            it.occ.status,
            it.owner,
            it.source,
            it.occ.done_on,
        ]
        for it in items
    ]
    listing_out(
        fmt.value,
        headers,
        rows,
        empty="No open actions.",
        extra={"as_of": day.isoformat()},
        colour_col=5,
    )


# Commands of the other shells (feeds, check, import) live in their own modules and register
# themselves on ``app`` when imported; each imports its heavy libraries inside its commands.
from . import cli_check as _cli_check  # noqa: E402, F401
from . import cli_feeds as _cli_feeds  # noqa: E402, F401
from . import cli_import as _cli_import  # noqa: E402, F401


def main() -> None:
    """Console entry point (see :func:`compliance.shell.main`, which takes the fast route first)."""
    from .shell import main as shell_main

    shell_main()


if __name__ == "__main__":
    main()

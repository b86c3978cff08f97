"""``compliance import``: bring other sources' data into the log (registered on compliance.cli.app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli import Fmt, app
from .errors import InvalidInput
from .shell import STATE, option_date
from .shell import db_path as _db_path
from .shell import emit as _emit

import_app = typer.Typer(
    help="Import other sources' records: Ofsted's published inspection data.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


@import_app.command("ofsted")
def ofsted(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Ofsted 'Provider level in year' CSV files, any year's layout, as published.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="YYYY-MM-DD",
            help="Tracking start for the homes this import creates (default: their first event).",
        ),
    ] = None,
    fmt: Annotated[
        Fmt,
        typer.Option(
            "--format",
            "-f",
            metavar="<table|json>",
            help="table (text) or json. Not csv: the summary is not a listing.",
        ),
    ] = Fmt.table,
) -> None:
    """Import Ofsted's inspection statistics: homes by URN, inspections as events. Idempotent.

    Secure children's homes and children's homes are kept (other provision types are skipped and
    counted); full inspections satisfy ofsted-full (and, at secure homes, ofsted-education when
    they carry an education judgement), interims and assurance visits ofsted-interim (secure
    homes), monitoring and emergency inspections are kept as ofsted-other. Every file is read
    before anything is written; each file is written in one transaction.

    Example: compliance import ofsted provider-level-in-year-2023-24.csv --dry-run
    """
    from . import ofsted as imp
    from .store import open_store

    if fmt is Fmt.csv:
        # like 'why', a report rather than a listing: per file, counts and skip reasons
        raise InvalidInput(
            "--format csv: the import summary is not a listing; use --format table or json"
        )
    start = option_date(since, "--since") if since else None
    parsed = imp.read_files(files)  # every file checked before the database is touched
    path = _db_path()
    store = None if dry_run and not path.exists() else open_store(path, create=not dry_run)
    try:
        bar: Any = None
        if sys.stderr.isatty():  # a progress bar on a terminal only (click hides it elsewhere)
            bar = typer.progressbar(
                length=sum(p.data_rows for p in parsed) or 1,
                label="Importing" + (" (dry run)" if dry_run else ""),
                file=sys.stderr,
            )
            bar.__enter__()
        try:
            results = imp.import_files(
                store,
                parsed,
                dry_run=dry_run,
                since=start,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        if store is not None and not dry_run:
            # one pass of the pending index over every home the files touched (per file
            # would repeat it for the homes that appear in every year)
            from .service import Network, update_index

            if sys.stderr.isatty():
                sys.stderr.write("Indexing what is due…\n")
            update_index(Network.open(store, index=False))
    finally:
        if store is not None:
            store.close()
    _report(results, imp.summarise(results), dry_run, fmt, STATE.db)


def _report(results: list[Any], total: Any, dry_run: bool, fmt: Fmt, db: str | None) -> None:
    from dataclasses import asdict

    from . import output

    if fmt is Fmt.json:
        _emit(
            output.to_json(
                {
                    "dry_run": dry_run,
                    "files": [asdict(r) for r in results],
                    "total": asdict(total),
                }
            )
        )
        return
    lines = ["Dry run: nothing was written." if dry_run else ""]
    for r in [*results, total] if len(results) > 1 else results:
        lines.append(
            f"{r.path}: {r.data_rows} rows, {r.kept_rows} inspections of children's homes; "
            f"homes {r.homes_added} added, {r.homes_updated} updated; "
            f"events {r.events_added} added"
            + (f" ({r.education_added} of them education)" if r.education_added else "")
            + f", {r.events_known} already recorded; "
            f"{r.skipped_rows} rows skipped" + (":" if r.skipped else ".")
        )
        for why, n in r.skipped.items():
            lines.append(f"    {n:6d}  {why}")
    if total.closed:
        lines.append(
            f"Note: {total.closed} home(s) are resigned, cancelled or closed in their latest "
            "inspection row; homes have no 'closed' state yet, so their obligations are still listed."
        )
    _emit("\n".join(x for x in lines if x))

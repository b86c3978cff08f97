"""CLI commands registered on compliance.cli.app (kept in their own module to keep cli.py small)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli import AsOf, _write_atomic, app
from .errors import InvalidInput
from .shell import as_of_date as _as_of


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


class FailOn(StrEnum):
    overdue = "overdue"
    due = "due"
    none = "none"


@app.command()
def check(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Fixture or rule files, or directories (every *.toml below them, sorted).",
            show_default=False,
        ),
    ],
    as_of: AsOf = None,
    days: Annotated[
        int,
        typer.Option(
            "--days", "-d", min=0, help="Report what falls due within this many days (warnings)."
        ),
    ] = 30,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Fail on overdue items, also on items due within --days (due), "
            "or on nothing (none: validate the files only).",
        ),
    ] = FailOn.overdue,
    fmt: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            help="text; json (schema_version 1); junit (XML for CI test reports); "
            "github (workflow commands: annotations on the offending lines).",
        ),
    ] = CheckFormat.text,
    output_file: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to FILE (atomically) instead of standard output.",
        ),
    ] = None,
) -> None:
    """Check fixture files for CI: validate them and fail when a statutory deadline is missed.

    No database is used. Every problem in the files is listed with its file, line and field;
    the worked examples of your own rules are run. Exit 0 when clean, 1 when something is
    overdue (or due soon, with --fail-on due), 2 when a file is invalid.

    Examples:

      compliance check fixtures/ --as-of 2026-11-01

      compliance check homes.toml visits/ --fail-on due --days 14

      compliance check fixtures/ --format junit --output compliance.xml

      compliance check fixtures/ --format github      # in a GitHub Actions step
    """
    from .check import render, run, summary
    from .output import colour_enabled

    day = _as_of(as_of)
    rep = run(files, day, days, fail_on.value)
    if output_file is None or output_file == "-":
        text = render(rep, fmt.value, colour=fmt is CheckFormat.text and colour_enabled(sys.stdout))
        sys.stdout.write(text)
    else:
        path = Path(output_file)
        try:
            _write_atomic(path, render(rep, fmt.value))
        except OSError as exc:
            raise InvalidInput(f"--output: cannot write {path}: {exc.strerror or exc}") from None
        typer.echo(f"{summary(rep)}; report written to {path}", err=True)
    if rep.exit_code:
        raise typer.Exit(rep.exit_code)

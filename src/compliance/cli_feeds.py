"""CLI commands registered on compliance.cli.app (kept in their own module to keep cli.py small):
``ical`` (export a calendar), ``feeds add|list|revoke`` (subscriptions) and ``serve`` (the feed
server). icalendar and waitress are imported inside the commands, never at module level."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli import AsOf, Fmt, Format, Homes, Rules, app, stage_file, write_atomic
from .errors import InvalidInput
from .shell import as_of_date as _as_of
from .shell import listing_out
from .shell import open_network as _net

if TYPE_CHECKING:
    from . import feeds

feeds_app = typer.Typer(
    help="Calendar feed subscriptions: a private address per subscriber, scoped to homes and rules.",
    no_args_is_help=True,
)
app.add_typer(feeds_app, name="feeds")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"

Days = Annotated[
    int,
    typer.Option(
        "--days",
        "-d",
        min=0,
        help="Open obligations due within this many days (default 400: the next inspection year shows).",
    ),
]
HistoryDays = Annotated[
    int,
    typer.Option(
        "--history-days",
        min=0,
        help="Also show done, late and waived ones from this many days back.",
    ),
]


@app.command()
def ical(
    home: Homes = None,
    rule: Rules = None,
    as_of: AsOf = None,
    days: Days = 400,
    history_days: HistoryDays = 365,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write here ('-' for standard output)."
        ),
    ] = "-",
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="Write DIR/homes/HOME.ics for every home and DIR/subscriptions/NAME.ics for every "
            "active subscription, for a web server to publish (see the README on privacy).",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The calendar's name.")] = None,
) -> None:
    """Export deadlines as an iCalendar (RFC 5545) file: one all-day event per occurrence.

    Open obligations due within --days (overdue ones included), and done, late and waived ones
    from the last --history-days. Two exports of unchanged data are byte-identical.

    Examples:

      compliance ical --home northgate --output northgate.ics

      compliance ical --output-dir /srv/calendars
    """
    from . import feeds

    day = _as_of(as_of)
    net = _net()
    if output_dir is None:
        # Computed whole (a batch of homes at a time, spilled to a temporary file) before the
        # first byte is written: a failure writes nothing, to standard output or to FILE.
        with feeds.stream(
            net, day, homes=home, rules=rule, days=days, history_days=history_days, name=name
        ) as cal:
            if output == "-":
                sys.stdout.flush()
                out = sys.stdout.buffer
                for piece in cal:
                    out.write(piece)
                out.flush()
            else:
                try:
                    write_atomic(Path(output), cal)
                except OSError as exc:
                    raise InvalidInput(f"--output {output}: {exc.strerror or exc}") from None
                typer.echo(f"Wrote {cal.events} events to {output}", err=True)
        return
    if home or rule or name or output != "-":
        raise InvalidInput(
            "--output-dir writes every home and subscription; drop --home, --rule, --name and --output"
        )
    _publish(feeds.Publication(net, day, days=days, history_days=history_days), output_dir)


def _publish(pub: feeds.Publication, output_dir: Path) -> None:
    """Write every file of ``pub`` to a temporary file beside its place, then rename them all
    into place: a failure while computing or writing leaves the directory as it was."""
    staged: list[tuple[Path, Path]] = []
    try:
        with pub:
            for sub in ("homes", "subscriptions"):
                (output_dir / sub).mkdir(parents=True, exist_ok=True)
            for rel, cal in pub.files():
                path = output_dir / Path(rel)
                staged.append((stage_file(path, cal), path))
        for tmp, path in staged:
            os.replace(tmp, path)
        # A revoked subscription's file must not stay published.
        names = {f"{s.name}.ics" for s in pub.subscriptions}
        stale = [
            p for p in sorted((output_dir / "subscriptions").glob("*.ics")) if p.name not in names
        ]
        for p in stale:
            p.unlink()
    except OSError as exc:
        raise InvalidInput(f"--output-dir {output_dir}: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)  # renamed already, unless something failed
    typer.echo(
        f"Wrote {len(pub.homes)} home and {len(pub.subscriptions)} subscription calendars to "
        f"{output_dir}" + (f"; removed {len(stale)} of revoked subscriptions" if stale else ""),
        err=True,
    )


@feeds_app.command("add")
def feeds_add(
    name: Annotated[str, typer.Argument(help="A name for the subscriber, e.g. northgate-manager.")],
    home: Homes = None,
    rule: Rules = None,
    all_homes: Annotated[
        bool, typer.Option("--all-homes", help="Every home, including homes added later.")
    ] = False,
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Where subscribers reach 'compliance serve' (your reverse proxy's https:// address).",
        ),
    ] = DEFAULT_BASE_URL,
) -> None:
    """Create a subscription and print its private address (shown once: only a hash is kept).

    Example: compliance feeds add northgate-manager --home northgate --base-url https://calendars.example.org
    """
    from . import feeds

    net = _net()
    feeds.feed_urls(base_url, "x")  # check the base URL before creating anything
    sub, token = feeds.add_subscription(
        net, name, homes=home or (), rules=rule or (), all_homes=all_homes
    )
    url, webcal = feeds.feed_urls(base_url, token)
    scope = ", ".join(sub.homes) if sub.homes else "every home"
    if sub.rules:
        scope += f"; rules {', '.join(sub.rules)}"
    typer.echo(f"Subscription {sub.name} ({scope}).")
    typer.echo(f"  {url}")
    typer.echo(f"  {webcal}")
    typer.echo(
        "Anyone with this address can read the feed; it is shown only this once. "
        f"Revoke it with: compliance feeds revoke {sub.name}",
        err=True,
    )


@feeds_app.command("list")
def feeds_list(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked subscriptions.")] = False,
    fmt: Format = Fmt.table,
) -> None:
    """List subscriptions (never their tokens: only a hash of each is kept).

    Example: compliance feeds list --format json
    """
    from . import feeds

    subs = feeds.subscriptions(_net(), include_revoked=all_)
    headers = ["name", "homes", "rules", "created", "revoked", "hash"]
    rows = [
        [
            s.name,
            ", ".join(s.homes) or "(all)",
            ", ".join(s.rules) or "(all)",
            s.created_at,
            s.revoked_at,
            s.hash_prefix,
        ]
        for s in subs
    ]
    items = [
        {
            "name": s.name,
            "homes": list(s.homes) or None,
            "rules": list(s.rules) or None,
            "created": s.created_at,
            "revoked": s.revoked_at,
            "hash_prefix": s.hash_prefix,
        }
        for s in subs
    ]
    listing_out(
        fmt.value,
        headers,
        rows,
        empty="No subscriptions: 'compliance feeds add NAME --home ID' creates one.",
        items=items,
    )


@feeds_app.command("revoke")
def feeds_revoke(
    name: Annotated[str, typer.Argument(help="The subscription's name.")],
) -> None:
    """Revoke a subscription: its address answers 404 from now on (like one that never existed).

    Example: compliance feeds revoke northgate-manager
    """
    from . import feeds

    feeds.revoke(_net(), name)
    typer.echo(f"Revoked {name}.")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless you say so).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8080,
    days: Days = 400,
    history_days: HistoryDays = 365,
    threads: Annotated[int, typer.Option("--threads", min=1, max=64, help="Worker threads.")] = 4,
) -> None:
    """Serve subscriptions' feeds over HTTP at /feeds/TOKEN.ics, computed as of today at each request.

    Put it behind a reverse proxy that terminates TLS (README: Calendar feeds).

    Example: compliance --db network.db serve --port 8080
    """
    from . import server
    from .shell import db_path as _db_path

    path = _db_path()
    _net().store.close()  # fail now, with exit 4, if the database cannot be used
    server.run(path, host=host, port=port, days=days, history_days=history_days, threads=threads)

"""The feed server: a small WSGI app served by waitress (a shell over :mod:`compliance.feeds`).

``GET``/``HEAD /feeds/TOKEN.ics`` answers the subscription's calendar, computed as of today
(Europe/London) at each request, with a strong ETag and Last-Modified and 304 on a match.
Anything else is one 404, the same for an unknown, a revoked or a malformed token. A database
error is a 503: never an empty calendar, which would delete every event in every subscriber's
calendar. Tokens never reach the log: it names the subscription and a prefix of the token's hash.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import feeds
from .errors import ComplianceError, StoreError

log = logging.getLogger("compliance.server")

StartResponse = Callable[..., Any]
NOT_FOUND = b"Not found\n"
COMMON = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the path
]


class FeedApp:
    """The WSGI application. ``today`` is injected (tests); the server passes the real clock."""

    def __init__(
        self,
        db_path: Path,
        *,
        today: Callable[[], dt.date],
        days: int = feeds.DEFAULT_DAYS,
        history_days: int = feeds.DEFAULT_HISTORY_DAYS,
    ) -> None:
        self.db_path = db_path
        self.today = today
        self.days = days
        self.history_days = history_days

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        t0 = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        who = "-"
        try:
            status, headers, body, who = self._handle(environ, method)
        except Exception as exc:  # no traceback to the client, nor (with paths) to the log
            status, headers, body = _plain("500 Internal Server Error", b"Internal error\n")
            log.error("%s %s: internal error %s", method, who, type(exc).__name__)
        start_response(status, headers)
        log.info(
            "%s %s -> %s (%d bytes, %.0f ms)",
            method,
            who,
            status.split()[0],
            len(body),
            (time.perf_counter() - t0) * 1000,
        )
        return [b""] if method == "HEAD" else [body]

    def _handle(
        self, environ: dict[str, Any], method: str
    ) -> tuple[str, list[tuple[str, str]], bytes, str]:
        if method not in ("GET", "HEAD"):
            s, h, b = _plain("405 Method Not Allowed", b"Method not allowed\n")
            return s, [*h, ("Allow", "GET, HEAD")], b, "-"
        path = environ.get("PATH_INFO", "")
        if not (path.startswith("/feeds/") and path.endswith(".ics")):
            return (*_plain("404 Not Found", NOT_FOUND), "(not a feed path)")
        token = path[len("/feeds/") : -len(".ics")]
        who = f"token {feeds.token_hash(token)[:12]}"
        try:
            from .service import Network
            from .store import open_store

            store = open_store(self.db_path, create=False)
        except ComplianceError as exc:
            log.error("%s: database unavailable: %s", who, exc.message)
            return (*_unavailable(), who)
        try:
            net = Network.open(store)
            sub = feeds.find(net, token)
            if sub is None:
                return (*_plain("404 Not Found", NOT_FOUND), f"{who} (unknown or revoked)")
            who = f"feed {sub.name} ({sub.hash_prefix})"
            feed = feeds.render_subscription(
                net, sub, self.today(), days=self.days, history_days=self.history_days
            )
        except (sqlite3.Error, StoreError) as exc:
            log.error("%s: database error: %s", who, type(exc).__name__)
            return (*_unavailable(), who)
        finally:
            store.close()
        cache = [
            ("ETag", feed.etag),
            ("Last-Modified", feeds.http_date(feed.last_modified)),
            ("Cache-Control", "private, no-cache"),
            *COMMON,
        ]
        if feeds.not_modified(
            feed, environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")
        ):
            return "304 Not Modified", cache, b"", who
        headers = [
            ("Content-Type", "text/calendar; charset=utf-8"),
            ("Content-Length", str(len(feed.body))),
            *cache,
        ]
        return "200 OK", headers, feed.body, who


def _plain(status: str, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    return (
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *COMMON,
        ],
        body,
    )


def _unavailable() -> tuple[str, list[tuple[str, str]], bytes]:
    s, h, b = _plain("503 Service Unavailable", b"Feed temporarily unavailable\n")
    return s, [*h, ("Retry-After", "300")], b


def make_server(app: FeedApp, host: str, port: int, threads: int = 4) -> Any:
    """A waitress server bound to host:port (0: any free port; see ``.effective_port``)."""
    from waitress.server import create_server

    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="compliance",
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(
    db_path: Path,
    *,
    host: str,
    port: int,
    days: int = feeds.DEFAULT_DAYS,
    history_days: int = feeds.DEFAULT_HISTORY_DAYS,
    threads: int = 4,
) -> None:
    """Serve until interrupted, logging one line per request to standard error."""
    from .clock import today

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    app = FeedApp(db_path, today=today, days=days, history_days=history_days)
    try:
        server = make_server(app, host, port, threads)
    except OSError as exc:
        from .errors import InvalidInput

        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = f"http://{server.effective_host}:{server.effective_port}"
    print(f"Serving the feeds of {db_path} on {bound}/feeds/TOKEN.ics (Ctrl-C stops)", flush=True)
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, not loopback: put a TLS reverse proxy in front "
            "(README: Calendar feeds); feed addresses are secrets",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.run()
    finally:
        server.close()

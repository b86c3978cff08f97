"""`compliance serve`: real requests to a real loopback socket."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from compliance import feeds
from compliance.ical import uid_for
from compliance.server import FeedApp, make_server

AS_OF = dt.date(2026, 11, 22)


class Served:
    def __init__(self, port: int, tokens: dict[str, str], db: Path) -> None:
        self.port, self.tokens, self.db = port, tokens, db

    def get(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def feed(self, name: str) -> str:
        return f"/feeds/{self.tokens[name]}.ics"


def token_of(out: str) -> str:
    m = re.search(r"/feeds/([A-Za-z0-9_-]+)\.ics", out)
    assert m, out
    return m.group(1)


class Running:
    """A waitress server on a free loopback port, run (and closed) by its own thread."""

    def __init__(self, app: FeedApp) -> None:
        self.server: Any = make_server(app, "127.0.0.1", 0, threads=2)
        self.port: int = self.server.effective_port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1)
        self.server.close()
        self.server.task_dispatcher.shutdown()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def served(cli, db: Path) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    with freeze_time("2026-11-22 09:00:00"):
        assert cli("demo", "--as-of", AS_OF.isoformat()).code == 0
    tokens = {}
    for name, args in (
        ("kestrel-manager", ["--home", "kestrel"]),
        ("visits", ["--all-homes", "--rule", "reg44-visit"]),
        ("leaver", ["--home", "beacon-hill"]),
    ):
        res = cli("feeds", "add", name, *args)
        assert res.code == 0, res.err
        tokens[name] = token_of(res.out)
    assert cli("feeds", "revoke", "leaver").code == 0
    running = Running(FeedApp(db, today=lambda: AS_OF))
    try:
        yield Served(running.port, tokens, db)
    finally:
        running.stop()


def uids(body: bytes) -> list[str]:
    text = body.decode("utf-8").replace("\r\n ", "")
    return re.findall(r"\r\nUID:([^\r]+)", text)


def test_feed_is_served_with_validators(served: Served) -> None:
    status, h, body = served.get(served.feed("kestrel-manager"))
    assert status == 200
    assert h["content-type"] == "text/calendar; charset=utf-8"
    assert int(h["content-length"]) == len(body)
    assert re.fullmatch(r'"[0-9a-f]{32}"', h["etag"])
    assert h["last-modified"].endswith(" GMT")
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    found = uids(body)
    assert uid_for("kestrel/reg44-visit/2026-11") in found
    assert found and all(u.startswith("kestrel.") for u in found)  # only its home
    assert (
        "X-WR-CALNAME:Example Secure Accommodation Network (fictional demo): kestrel-manager"
        in (body.decode("utf-8").replace("\r\n ", ""))
    )
    # the same bytes and validators on a second request: the ETag is a hash of the body
    status2, h2, body2 = served.get(served.feed("kestrel-manager"))
    assert (status2, h2["etag"], h2["last-modified"], body2) == (
        200,
        h["etag"],
        h["last-modified"],
        body,
    )


def test_conditional_requests_and_head(served: Served) -> None:
    path = served.feed("kestrel-manager")
    _, h, body = served.get(path)
    status, h304, b304 = served.get(path, headers={"If-None-Match": h["etag"]})
    assert status == 304 and b304 == b"" and h304["etag"] == h["etag"]
    assert served.get(path, headers={"If-None-Match": f'"x", W/{h["etag"]}'})[0] == 304
    assert served.get(path, headers={"If-Modified-Since": h["last-modified"]})[0] == 304
    # If-None-Match wins over If-Modified-Since
    assert (
        served.get(
            path, headers={"If-None-Match": '"other"', "If-Modified-Since": h["last-modified"]}
        )[0]
        == 200
    )
    # an unparseable date is ignored (a blanket 304 would freeze Apple's copy)
    assert served.get(path, headers={"If-Modified-Since": "yesterday"})[0] == 200
    assert (
        served.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    )
    status, hh, hb = served.get(path, method="HEAD")
    assert status == 200 and hb == b""
    assert hh["etag"] == h["etag"] and int(hh["content-length"]) == len(body)


def test_a_scoped_subscription_sees_only_its_homes_and_rules(served: Served) -> None:
    status, _, body = served.get(served.feed("visits"))
    assert status == 200
    found = uids(body)
    assert len({u.split(".")[0] for u in found}) == 14  # every home in England (Reg 44)
    assert all(".reg44-visit." in u for u in found)
    status, _, mine = served.get(served.feed("kestrel-manager"))
    assert not [u for u in uids(mine) if not u.startswith("kestrel.")]
    assert b"Beacon Hill" not in mine and b"Northgate" not in mine


def test_not_found_looks_the_same_for_unknown_revoked_and_other_paths(served: Served) -> None:
    unknown = "/feeds/" + feeds.new_token() + ".ics"
    answers = [
        served.get(p)
        for p in (
            unknown,
            served.feed("leaver"),  # revoked
            "/feeds/short.ics",
            "/feeds/",
            "/",
            "/feeds/../x.ics",
            served.feed("kestrel-manager") + "/",
        )
    ]
    for status, h, body in answers:
        assert status == 404 and body == answers[0][2] == b"Not found\n"
        h.pop("date", None)
        assert h == {k: v for k, v in answers[0][1].items() if k != "date"}
        assert b"BEGIN:VCALENDAR" not in body
    status, h, _ = served.get(served.feed("kestrel-manager"), method="POST")
    assert status == 405 and h["allow"] == "GET, HEAD"


def test_a_database_error_is_a_5xx_never_an_empty_calendar(served: Served, tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    # a consistent copy (the backup API includes what is still in the WAL file)
    with sqlite3.connect(served.db) as src, sqlite3.connect(broken) as dst:
        src.backup(dst)
    con = sqlite3.connect(broken)
    con.execute("DROP TABLE summary")
    con.commit()
    con.close()
    running = Running(FeedApp(broken, today=lambda: AS_OF))
    try:
        other = Served(running.port, served.tokens, broken)
        status, h, body = other.get(other.feed("kestrel-manager"))
        assert status == 503 and h["retry-after"] == "300"
        assert b"VCALENDAR" not in body and b"Traceback" not in body
    finally:
        running.stop()
    running = Running(FeedApp(tmp_path / "gone.db", today=lambda: AS_OF))
    try:
        other = Served(running.port, served.tokens, tmp_path / "gone.db")
        status, _, body = other.get(other.feed("kestrel-manager"))
        assert status == 503 and b"VCALENDAR" not in body
        assert not (tmp_path / "gone.db").exists()  # the server never creates a database
    finally:
        running.stop()


def test_tokens_never_reach_the_log(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="compliance.server")
    served.get(served.feed("kestrel-manager"))
    served.get(served.feed("leaver"))
    served.get("/feeds/" + "A" * 43 + ".ics")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "feed kestrel-manager" in text and "-> 200" in text and "-> 404" in text
    for token in [*served.tokens.values(), "A" * 43]:
        assert token not in text


def test_the_feed_changes_with_the_data_and_the_etag_with_it(served: Served, cli) -> None:  # type: ignore[no-untyped-def]
    path = served.feed("kestrel-manager")
    _, h, body = served.get(path)
    with freeze_time("2026-11-22 14:05:00"):
        res = cli(
            "record", "kestrel", "reg44-visit", "--date", "2026-11-20", "--as-of", "2026-11-22"
        )
    assert res.code == 0, res.err
    status, h2, body2 = served.get(path, headers={"If-None-Match": h["etag"]})
    assert status == 200 and h2["etag"] != h["etag"] and body2 != body
    assert h2["last-modified"] == "Sun, 22 Nov 2026 14:05:00 GMT"
    assert served.get(path, headers={"If-Modified-Since": h["last-modified"]})[0] == 200


@pytest.mark.slow
def test_compliance_serve_as_a_process(served: Served, tmp_path: Path) -> None:
    """The real command: binds loopback on a free port, serves, stops on SIGINT."""
    exe = Path(sys.executable).parent / "compliance"
    proc = subprocess.Popen(
        [str(exe), "--db", str(served.db), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/feeds/TOKEN\.ics", line)
        assert m, line
        live = Served(int(m.group(1)), served.tokens, served.db)
        status, h, body = live.get(live.feed("kestrel-manager"))
        assert status == 200 and h["content-type"].startswith("text/calendar")
        assert uids(body)
        assert live.get(live.feed("leaver"))[0] == 404
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "feed kestrel-manager" in err and "Traceback" not in err
    for token in served.tokens.values():
        assert token not in err


def test_help_and_due_never_import_the_server_or_icalendar(tmp_path: Path) -> None:
    code = f"""
import json, sys
from compliance.cli import main
for argv in (["compliance", "--help"], ["compliance", "--db", {str(tmp_path / "x.db")!r}, "due"]):
    sys.argv = argv
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout.strip().splitlines()[-1]))
    for banned in ("waitress", "icalendar", "compliance.server", "compliance.feeds"):
        assert not any(m == banned or m.startswith(banned + ".") for m in mods), banned

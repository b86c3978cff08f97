"""Feed subscriptions (tokens stored only as a hash) and the HTTP caching rules of a feed."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
from pathlib import Path

import pytest
from freezegun import freeze_time

from compliance import feeds
from compliance.feeds import Feed, not_modified
from compliance.service import Network
from compliance.store import open_store

DATA = Path(__file__).parent / "data"
AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def loaded(cli):  # type: ignore[no-untyped-def]
    with freeze_time("2026-11-01 09:00:00"):
        assert cli("load", str(DATA / "small.toml")).code == 0
    return cli


def test_add_prints_the_address_once_and_stores_only_a_hash(loaded, db: Path) -> None:  # type: ignore[no-untyped-def]
    res = loaded("feeds", "add", "northgate-manager", "--home", "northgate")
    assert res.code == 0, res.err
    m = re.search(r"^  (http://127\.0\.0\.1:8080/feeds/([A-Za-z0-9_-]{43})\.ics)$", res.out, re.M)
    assert m, res.out
    token = m.group(2)
    assert f"  webcal://127.0.0.1:8080/feeds/{token}.ics" in res.out
    assert "shown only this once" in res.err
    # the database holds the SHA-256 of the token, never the token
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert token.encode() not in raw
    con = sqlite3.connect(db)
    (stored,) = con.execute("SELECT token_hash FROM subscriptions").fetchone()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    listing = loaded("feeds", "list")
    assert listing.code == 0 and "northgate-manager" in listing.out and token not in listing.out
    assert stored[:12] in listing.out
    js = loaded("feeds", "list", "--format", "json").json()["items"]
    assert js[0]["homes"] == ["northgate"] and js[0]["rules"] is None and token not in str(js)


def test_base_url_gives_https_and_webcal_forms(loaded) -> None:  # type: ignore[no-untyped-def]
    res = loaded(
        "feeds", "add", "all", "--all-homes", "--rule", "reg33-visit",
        "--base-url", "https://calendars.example.org/",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert re.search(r"^  https://calendars\.example\.org/feeds/[\w-]{43}\.ics$", res.out, re.M)
    assert re.search(r"^  webcal://calendars\.example\.org/feeds/[\w-]{43}\.ics$", res.out, re.M)
    # aliases resolve to the rule key
    assert loaded("feeds", "list", "--format", "json").json()["items"][0]["rules"] == [
        "reg44-visit"
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("x",), 2, "--home ID... or --all-homes"),
        (("x", "--home", "northgate", "--all-homes"), 2, "--home ID... or --all-homes"),
        (("x", "--home", "nowhere"), 3, "no home 'nowhere'"),
        (("x", "--home", "northgate", "--rule", "reg44-vist"), 2, "unknown rule"),
        (("../etc", "--home", "northgate"), 2, "subscription name"),
        (("x", "--home", "northgate", "--base-url", "calendars.example.org"), 2, "--base-url"),
    ],
)
def test_add_refuses_bad_input(loaded, db: Path, args, code, message) -> None:  # type: ignore[no-untyped-def]
    res = loaded("feeds", "add", *args)
    assert res.code == code and message in res.err and "Traceback" not in res.err
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0


def test_revoke_and_reuse_a_name(loaded, db: Path) -> None:  # type: ignore[no-untyped-def]
    first = loaded("feeds", "add", "m", "--home", "northgate")
    assert loaded("feeds", "add", "m", "--home", "tyddyn").code == 2  # the name is taken
    token = re.search(r"/feeds/([\w-]+)\.ics", first.out).group(1)  # type: ignore[union-attr]
    net = Network.open(open_store(db))
    assert feeds.find(net, token) is not None
    assert loaded("feeds", "revoke", "m").code == 0
    assert feeds.find(net, token) is None
    assert loaded("feeds", "revoke", "m").code == 3
    again = loaded("feeds", "add", "m", "--home", "tyddyn")
    assert again.code == 0 and token not in again.out
    assert loaded("feeds", "list").out.count("\nm ") == 1
    assert loaded("feeds", "list", "--all").out.count("\nm ") == 2
    for bad in ("", "x" * 43, "../../etc/passwd", token + "x"):
        assert feeds.find(net, bad) is None


def test_a_subscription_feed_is_scoped(loaded, db: Path) -> None:  # type: ignore[no-untyped-def]
    assert loaded("feeds", "add", "wales", "--home", "tyddyn").code == 0
    net = Network.open(open_store(db))
    (sub,) = feeds.subscriptions(net)
    feed = feeds.render_subscription(net, sub, AS_OF)
    text = feed.body.decode("utf-8")
    assert feed.events > 0 and text.count("BEGIN:VEVENT") == feed.events
    assert "Northgate" not in text and "UID:northgate" not in text
    assert "X-WR-CALNAME:Small test network: wales" in text


def test_last_modified_never_goes_backwards(loaded, db: Path) -> None:  # type: ignore[no-untyped-def]
    net = Network.open(open_store(db))
    previous = None
    for n in range(0, 120, 7):
        day = AS_OF + dt.timedelta(days=n)
        feed = feeds.render(net, day, history_days=30)
        assert feed.last_modified >= feeds.start_of_day(day)
        if previous is not None:
            assert feed.last_modified >= previous
        previous = feed.last_modified
    assert feeds.start_of_day(dt.date(2026, 7, 1)) == dt.datetime(2026, 6, 30, 23, tzinfo=dt.UTC)


def _feed(etag: str = '"abc"', modified: str = "2026-11-22T10:00:00+00:00") -> Feed:
    return Feed(b"", etag, dt.datetime.fromisoformat(modified), 0)


@pytest.mark.parametrize(
    ("inm", "ims", "expect"),
    [
        ('"abc"', None, True),
        ('"x", "abc"', None, True),
        ('W/"abc"', None, True),
        ("*", None, True),
        ('"x"', None, False),
        ('"x"', "Sun, 22 Nov 2026 10:00:00 GMT", False),  # If-None-Match wins
        (None, "Sun, 22 Nov 2026 10:00:00 GMT", True),
        (None, "Sun, 22 Nov 2026 11:00:00 GMT", True),
        (None, "Sun, 22 Nov 2026 09:59:59 GMT", False),
        (None, "not a date", False),
        (None, "", False),
        (None, None, False),
    ],
)
def test_not_modified(inm: str | None, ims: str | None, expect: bool) -> None:
    assert not_modified(_feed(), inm, ims) is expect


def test_http_date_and_etag() -> None:
    when = dt.datetime(2026, 7, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert feeds.http_date(when) == "Tue, 30 Jun 2026 23:30:00 GMT"
    assert feeds.etag_of(b"x") == feeds.etag_of(b"x") != feeds.etag_of(b"y")

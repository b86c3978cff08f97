"""Calendar feeds: calendars written as streams, the published directory, HTTP caching, and
subscriptions.

Core: no clock (``as_of`` is an argument), no HTTP, no UI. :func:`stream` computes the calendar
of some homes and rules (the occurrences and stamps of :mod:`compliance.feeditems`, a batch of
homes at a time) and gives its bytes as a stream: the head, each VEVENT, the end, each piece
built and serialised by icalendar (:mod:`compliance.ical`). Events go in one order, due date then
occurrence id, across all homes; when the homes fill more than one batch, each batch's VEVENTs
are spilled, sorted, to a temporary file and merged from there (:mod:`compliance.spill`), so no
calendar, however many homes it covers, is held in memory. :func:`render` joins a stream into
one body (the server needs it whole for the ETag); :class:`Publication` computes every home's
and every subscription's calendar in one pass. Subscriptions are named, scoped to homes and rules,
and identified by a random token of which only the SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from .errors import InvalidInput, NotFound
from .feeditems import BATCH_HOMES as BATCH_HOMES  # re-exported: feeds is the shells' module
from .feeditems import DEFAULT_DAYS as DEFAULT_DAYS
from .feeditems import DEFAULT_HISTORY_DAYS as DEFAULT_HISTORY_DAYS
from .feeditems import Batches, check_window
from .feeditems import start_of_day as start_of_day
from .ical import CALENDAR_END, Stamp, calendar_head, vevent
from .service import Item, Network
from .spill import Record, Run, Spill

TOKEN_BYTES = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# -- calendars as streams -------------------------------------------------------------------------


@dataclass
class Feed:
    """A rendered calendar with what HTTP caching needs."""

    body: bytes
    etag: str  # strong: a hash of the body
    last_modified: dt.datetime  # UTC, whole seconds
    events: int


class CalendarStream:
    """A calendar computed and ready to write: iterate it once for its bytes, in order (the head,
    each VEVENT, the end).

    Every event was computed, and a duplicate refused, before the first byte: a failure while
    computing writes nothing. ``events`` and ``last_modified`` are known before the first byte
    too. Close it (or use ``with``) to drop the temporary file of a calendar of many homes.
    """

    def __init__(
        self,
        head: bytes,
        events: Iterable[bytes],
        count: int,
        last_modified: dt.datetime,
        spill: Spill | None = None,
    ) -> None:
        self.head = head
        self._events = events
        self.events = count
        # never earlier than the start of the day the feed is computed for (the callers see to
        # it), so Last-Modified never goes backwards, even when an event leaves the feed
        self.last_modified = last_modified.replace(microsecond=0)
        self._spill = spill

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        yield from self._events
        yield CALENDAR_END

    def __enter__(self) -> CalendarStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()


def calendar_name(net: Network, homes: Sequence[str] | None, label: str | None = None) -> str:
    network = net.store.network().get("network.name") or "Compliance"
    if label:
        return f"{network}: {label}"
    if homes and len(set(homes)) == 1:
        return f"{net.store.home(homes[0]).name}: compliance deadlines"
    return f"{network}: compliance deadlines"


def feed_description(days: int, history_days: int) -> str:
    """The calendar's DESCRIPTION. No date in it: the body must not change because a day passed."""
    return (
        f"Statutory inspection and compliance deadlines: open ones up to {days} days ahead, "
        f"done, late and waived ones from the last {history_days} days. Not legal advice."
    )


def _head(title: str, days: int, history_days: int) -> bytes:
    return calendar_head(title, description_text=feed_description(days, history_days))


def _record(item: Item, stamp: Stamp) -> Record:
    return Record(item.occ.due, item.occ.id, item.rule.key, vevent(item, stamp))


def stream(
    net: Network,
    as_of: dt.date,
    *,
    homes: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    days: int = DEFAULT_DAYS,
    history_days: int = DEFAULT_HISTORY_DAYS,
    name: str | None = None,
    batch: int | None = None,
) -> CalendarStream:
    """The calendar of some homes (every home when None) and rules as of a date, computed
    ``batch`` homes at a time (default :data:`BATCH_HOMES`). Up to ``batch`` homes, the VEVENTs
    are kept in memory; beyond, each batch's go to a temporary file, to be merged into one order
    as they are written."""
    check_window(days, history_days)
    with net.store.reading():  # every batch sees the same database
        return _stream(net, as_of, homes, rules, days, history_days, name, batch or BATCH_HOMES)


def _stream(
    net: Network,
    as_of: dt.date,
    homes: Sequence[str] | None,
    rules: Sequence[str] | None,
    days: int,
    history_days: int,
    name: str | None,
    size: int,
) -> CalendarStream:
    keys = net.filters(homes, rules)
    head = _head(name or calendar_name(net, homes), days, history_days)
    ids = sorted(set(homes)) if homes else [h.id for h in net.store.homes()]
    batches = Batches(net, as_of, rules=keys, days=days, history_days=history_days)
    last = start_of_day(as_of)
    if len(ids) <= size:
        pairs = batches.batch(ids)
        last = max([last, *(st.modified for _, st in pairs)])
        return CalendarStream(head, [vevent(it, st) for it, st in pairs], len(pairs), last)
    spill = Spill()
    try:
        runs, count = [], 0
        for pairs in batches.batches(ids, size):
            runs.append(spill.add(_record(it, st) for it, st in pairs))
            count += len(pairs)
            last = max([last, *(st.modified for _, st in pairs)])
        return CalendarStream(head, spill.merge(runs), count, last, spill)
    except BaseException:
        spill.close()
        raise


def render(
    net: Network,
    as_of: dt.date,
    *,
    homes: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    days: int = DEFAULT_DAYS,
    history_days: int = DEFAULT_HISTORY_DAYS,
    name: str | None = None,
) -> Feed:
    """The calendar of some homes and rules as of a date, whole, with its ETag and Last-Modified."""
    with stream(
        net, as_of, homes=homes, rules=rules, days=days, history_days=history_days, name=name
    ) as cal:
        body = b"".join(cal)
    return Feed(body, etag_of(body), cal.last_modified, cal.events)


@dataclass
class _HomeRun:
    """One home's events in the spill file, and per rule how many and their latest change."""

    run: Run
    rules: dict[str, tuple[int, dt.datetime]]


class Publication:
    """Every home's calendar and every active subscription's (what ``ical --output-dir``
    publishes), computed in one pass: each home's VEVENTs are one run of a temporary file, and a
    subscription's calendar merges the runs of its homes (keeping its rules' events). An event's
    bytes do not depend on the calendar it is in. Close it (or use ``with``)."""

    def __init__(
        self,
        net: Network,
        as_of: dt.date,
        *,
        days: int = DEFAULT_DAYS,
        history_days: int = DEFAULT_HISTORY_DAYS,
        batch: int | None = None,
    ) -> None:
        check_window(days, history_days)
        with net.store.reading():  # every home and subscription from the same database
            self.net, self.as_of, self.days, self.history_days = net, as_of, days, history_days
            self.homes = [h.id for h in net.store.homes()]
            self.subscriptions = subscriptions(net)
            # a subscription naming a home or rule that no longer exists fails as its feed would
            self._scopes = [
                (s, net.filters(s.homes or None, s.rules or None)) for s in self.subscriptions
            ]
            self._spill = Spill()
            self._runs: dict[str, _HomeRun] = {}
            try:
                batches = Batches(net, as_of, days=days, history_days=history_days)
                for pairs in batches.batches(self.homes, batch or BATCH_HOMES):
                    by_home: dict[str, list[tuple[Item, Stamp]]] = {
                        h: [] for h in sorted({it.occ.home for it, _ in pairs})
                    }
                    for it, st in pairs:
                        by_home[it.occ.home].append((it, st))
                    for h, mine in by_home.items():
                        per_rule: dict[str, tuple[int, dt.datetime]] = {}
                        for it, st in mine:
                            n, t = per_rule.get(it.rule.key, (0, st.modified))
                            per_rule[it.rule.key] = (n + 1, max(t, st.modified))
                        self._runs[h] = _HomeRun(
                            self._spill.add(_record(it, st) for it, st in mine), per_rule
                        )
            except BaseException:
                self._spill.close()
                raise

    def __enter__(self) -> Publication:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._spill.close()

    def _calendar(
        self, title: str, homes: Sequence[str], rules: Sequence[str] | None
    ) -> CalendarStream:
        runs = [self._runs[h] for h in sorted(set(homes)) if h in self._runs]
        last, count = start_of_day(self.as_of), 0
        for r in runs:
            for key, (n, t) in r.rules.items():
                if rules is None or key in rules:
                    count += n
                    last = max(last, t)
        events = self._spill.merge([r.run for r in runs], rules)
        return CalendarStream(_head(title, self.days, self.history_days), events, count, last)

    def files(self) -> Iterator[tuple[PurePosixPath, CalendarStream]]:
        """``homes/HOME.ics`` for every home, then ``subscriptions/NAME.ics`` for every active
        subscription, each with its calendar: the bytes :func:`render` and
        :func:`render_subscription` give."""
        for h in self.homes:
            yield (
                PurePosixPath("homes", f"{h}.ics"),
                self._calendar(calendar_name(self.net, [h]), [h], None),
            )
        for s, keys in self._scopes:
            title = calendar_name(self.net, s.homes, s.name)
            yield (
                PurePosixPath("subscriptions", f"{s.name}.ics"),
                self._calendar(title, s.homes or self.homes, keys),
            )


# -- HTTP caching (used by the server shell) ------------------------------------------------------


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def http_date(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.UTC), usegmt=True)


def not_modified(feed: Feed, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since; an unparseable date is ignored."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        strip = [t[2:] if t.startswith("W/") else t for t in tags]
        return "*" in tags or feed.etag in strip
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return feed.last_modified <= since
    return False


# -- subscriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    id: int
    name: str
    token_hash: str
    homes: tuple[str, ...]  # empty: every home, present and future
    rules: tuple[str, ...]  # empty: every rule
    created_at: str
    revoked_at: str | None = None

    @property
    def hash_prefix(self) -> str:
        """What logs may show instead of the token."""
        return self.token_hash[:12]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Subscription:
        return cls(
            int(r["id"]),
            str(r["name"]),
            str(r["token_hash"]),
            tuple(json.loads(r["homes"])),
            tuple(json.loads(r["rules"])),
            str(r["created_at"]),
            r["revoked_at"],
        )


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The https:// (or http://) address to copy and paste, and the webcal:// one-click form."""
    base = base_url.rstrip("/")
    scheme, sep, rest = base.partition("://")
    if not sep or scheme not in ("http", "https") or not rest:
        raise InvalidInput(f"--base-url must start with http:// or https:// (got {base_url!r})")
    url = f"{base}/feeds/{token}.ics"
    return url, f"webcal://{rest}/feeds/{token}.ics"


def add_subscription(
    net: Network,
    name: str,
    *,
    homes: Sequence[str] = (),
    rules: Sequence[str] = (),
    all_homes: bool = False,
) -> tuple[Subscription, str]:
    """Create a subscription; returns it and its token (shown once, never stored)."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"subscription name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-' "
            "(it names the file in 'ical --output-dir')"
        )
    if bool(homes) == all_homes:
        raise InvalidInput("say which homes the subscriber may see: --home ID... or --all-homes")
    home_ids = sorted({net.store.home(h).id for h in homes})
    rule_keys = sorted({net.rule(r).key for r in rules})
    if any(s["name"] == name for s in net.store.subscriptions()):
        raise InvalidInput(
            f"a subscription named {name!r} exists; revoke it first or pick another name"
        )
    token = new_token()
    with net.store.transaction():
        net.store.add_subscription(name, token_hash(token), home_ids, rule_keys)
    sub = find(net, token)
    assert sub is not None
    return sub, token


def subscriptions(net: Network, *, include_revoked: bool = False) -> list[Subscription]:
    return [
        Subscription.from_row(r) for r in net.store.subscriptions(include_revoked=include_revoked)
    ]


def revoke(net: Network, name: str) -> None:
    with net.store.transaction():
        if not net.store.revoke_subscription(name):
            raise NotFound(f"no active subscription {name!r}; 'compliance feeds list' shows them")


def find(net: Network, token: str) -> Subscription | None:
    """The active subscription of a token; None for a malformed, unknown or revoked one alike."""
    if not _TOKEN.match(token):
        return None
    row = net.store.subscription_by_hash(token_hash(token))
    return Subscription.from_row(row) if row else None


def render_subscription(
    net: Network,
    sub: Subscription,
    as_of: dt.date,
    *,
    days: int = DEFAULT_DAYS,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> Feed:
    """A subscriber's feed: only the homes and rules of the subscription."""
    return render(
        net,
        as_of,
        homes=sub.homes or None,
        rules=sub.rules or None,
        days=days,
        history_days=history_days,
        name=calendar_name(net, sub.homes, sub.name),
    )

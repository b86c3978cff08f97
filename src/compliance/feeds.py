"""Calendar feeds: which occurrences a feed shows, when each last changed, and subscriptions.

Core: no clock (``as_of`` is an argument), no HTTP, no UI. :func:`render` gathers the
occurrences of some homes and rules (open ones up to ``as_of + days``, closed ones from the last
``history_days``), works out from the append-only log each one's SEQUENCE and last change, and
hands them to :mod:`compliance.ical`. Subscriptions are named, scoped to homes and rules, and
identified by a random token of which only the SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from .dates import LONDON
from .engine import Query
from .errors import InvalidInput, NotFound
from .ical import Stamp, build_calendar
from .model import Event, History
from .service import Item, Network, occurrences

DEFAULT_DAYS = 400  # ahead: the next inspection year (1 April to 31 March) is always in view
DEFAULT_HISTORY_DAYS = 365  # back: a year of done, late and waived occurrences
TOKEN_BYTES = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# -- which occurrences, and when they changed ----------------------------------------------------


@dataclass
class Feed:
    """A rendered calendar with what HTTP caching needs."""

    body: bytes
    etag: str  # strong: a hash of the body
    last_modified: dt.datetime  # UTC, whole seconds
    events: int


def _utc(iso: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(iso)
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 Europe/London on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


class _Log:
    """The log of some homes, indexed for working out which records touched an occurrence."""

    def __init__(self, events: list[Event], superseded: set[str]) -> None:
        self.by_pair: dict[tuple[str, str], list[Event]] = {}
        self.by_target: dict[str, list[Event]] = {}
        self.correcting: dict[str, list[Event]] = {}
        for e in events:
            if e.kind == "done":
                self.by_pair.setdefault((e.home, e.rule), []).append(e)
            if e.target:
                self.by_target.setdefault(e.target, []).append(e)
            if e.supersedes:
                self.correcting.setdefault(e.supersedes, []).append(e)
        for lst in self.by_pair.values():
            lst.sort(key=lambda e: (e.date, e.id))
        self.dates = {k: [e.date for e in v] for k, v in self.by_pair.items()}
        self.superseded = superseded

    def between(self, home: str, rule: str, first: dt.date, last: dt.date) -> list[Event]:
        evs = self.by_pair.get((home, rule), [])
        ds = self.dates.get((home, rule), [])
        return evs[bisect_left(ds, first) : bisect_right(ds, last)]

    def histories(self) -> dict[tuple[str, str], History]:
        """What the engine counts: done events, corrections applied (superseded ones dropped)."""
        return {
            pair: History.of([e for e in evs if e.id not in self.superseded])
            for pair, evs in self.by_pair.items()
            if pair[1] != "action"
        }


def _touching(item: Item, log: _Log, as_of: dt.date) -> dict[str, Event]:
    """The log records that made an occurrence what it is: the event that closed it, a waiver, an
    event that anchors (moves) it, and corrections of any of them. Each one is a revision."""
    o, rule = item.occ, item.rule
    found: list[Event] = list(log.by_target.get(o.id, ()))  # waivers
    if rule.key == "action":
        found += log.by_target.get(o.period, ())  # the action's closing event
    else:
        last = o.done_on if o.done_on and o.status in ("done", "late") else o.due
        first = o.window_start
        if rule.cadence.kind in ("gap", "expiry"):
            first -= dt.timedelta(days=1)  # the previous event anchors the window: it moves it
        found += [e for e in log.between(o.home, rule.key, first, last) if e.kind == "done"]
        if rule.cadence.kind == "after" and rule.cadence.after:
            found += log.between(o.home, rule.cadence.after, o.window_start, o.window_start)
    out: dict[str, Event] = {}
    while found:
        e = found.pop()
        if e.id in out or e.date > as_of:
            continue  # as of as_of, a later record is not yet known
        out[e.id] = e
        found += log.correcting.get(e.id, ())
    return out


def stamp_for(item: Item, log: _Log, as_of: dt.date, changes: dict[str, str]) -> Stamp:
    """SEQUENCE counts the records that changed the occurrence (recorded, waived, moved, corrected);
    LAST-MODIFIED is the latest of them, of the home's and rule's last edit, and of the moment it
    turned overdue (its summary changed then). Derived from data and as_of, never from "now"."""
    o = item.occ
    recs = _touching(item, log, as_of)
    times = [_utc(e.recorded_at) for e in recs.values() if e.recorded_at]
    for key in (f"home:{o.home}", f"rule:{o.rule}") + (
        (f"action:{o.period}",) if o.rule == "action" else ()
    ):
        if key in changes:
            times.append(_utc(changes[key]))
    if o.status == "overdue":
        times.append(start_of_day(o.due + dt.timedelta(days=1)))
    modified = max(times) if times else start_of_day(o.window_start)
    return Stamp(len(recs), modified.replace(microsecond=0))


def collect(
    net: Network,
    as_of: dt.date,
    *,
    homes: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    days: int = DEFAULT_DAYS,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> tuple[list[Item], dict[str, Stamp]]:
    """The occurrences a feed shows and their stamps.

    Open ones due on or before ``as_of + days`` (exactly what ``compliance due --days`` lists for
    the same homes and rules), and closed ones (done, late, waived) due or closed in the last
    ``history_days``. Each carries its explanation steps.
    """
    if days < 0 or history_days < 0:
        raise InvalidInput("--days and --history-days must be 0 or more")
    keys = net.filters(homes, rules)
    snap = net.store.snapshot(list(homes) if homes else None, open_actions_only=False)
    if homes:
        events = [
            e for h in sorted(set(homes)) for e in net.store.events(h, include_superseded=True)
        ]
    else:
        events = net.store.events(include_superseded=True)
    log = _Log(events, net.store.superseded_ids())
    until = as_of + dt.timedelta(days=days)
    since = as_of - dt.timedelta(days=history_days)
    # start: the engine need not explain ten years of settled history to drop it below
    q = Query(as_of, until, explain=True, closed=True, holidays=net.holidays, start=since)
    items = [
        it
        for it in occurrences(net, snap, q, rules=keys, histories=log.histories())
        if it.occ.due <= until
        and (it.occ.is_open or max(it.occ.due, it.occ.done_on or it.occ.due) >= since)
    ]
    changes = net.store.change_stamps()
    return items, {it.occ.id: stamp_for(it, log, as_of, changes) for it in items}


def calendar_name(net: Network, homes: Sequence[str] | None, label: str | None = None) -> str:
    network = net.store.network().get("network.name") or "Compliance"
    if label:
        return f"{network}: {label}"
    if homes and len(set(homes)) == 1:
        return f"{net.store.home(homes[0]).name}: compliance deadlines"
    return f"{network}: compliance deadlines"


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
    """The calendar of some homes and rules as of a date, with its ETag and Last-Modified."""
    items, stamps = collect(
        net, as_of, homes=homes, rules=rules, days=days, history_days=history_days
    )
    title = name or calendar_name(net, homes)
    # No date in it: the body must not change just because a day passed.
    desc = (
        f"Statutory inspection and compliance deadlines: open ones up to {days} days ahead, "
        f"done, late and waived ones from the last {history_days} days. Not legal advice."
    )
    body = build_calendar(title, items, stamps, description_text=desc)
    # Last-Modified never goes backwards, even when an event leaves the feed: no earlier than
    # the start of the day the feed is computed for (what is shown can change with the date).
    last = max([start_of_day(as_of), *(s.modified for s in stamps.values())])
    return Feed(body, etag_of(body), last.replace(microsecond=0), len(items))


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

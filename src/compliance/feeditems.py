"""Which occurrences a calendar feed shows and when each last changed, a batch of homes at a time.

Core: no clock (``as_of`` is an argument), no HTTP, no UI, no icalendar. A feed shows the open
occurrences of some homes and rules due up to ``as_of + days`` and the closed ones (done, late,
waived) of the last ``history_days``; from the append-only log each gets its SEQUENCE and last
change (:class:`~compliance.ical.Stamp`). :class:`Batches` computes them a few hundred homes at a
time (their events, snapshot, occurrences and stamps; then they can be dropped), so a calendar of
a national network never holds every home's events at once. A home's occurrences and stamps do
not depend on which other homes share its batch: each reads only its own events.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence

from .dates import LONDON
from .engine import Query
from .errors import InvalidInput
from .ical import Stamp, event_key
from .model import Event, History
from .service import Item, Network, occurrences

DEFAULT_DAYS = 400  # ahead: the next inspection year (1 April to 31 March) is always in view
DEFAULT_HISTORY_DAYS = 365  # back: a year of done, late and waived occurrences
BATCH_HOMES = 200  # homes computed at a time: about 7,000 events of a national network


def check_window(days: int, history_days: int) -> None:
    if days < 0 or history_days < 0:
        raise InvalidInput("--days and --history-days must be 0 or more")


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


class Batches:
    """The occurrences of a feed and their stamps, computed a batch of homes at a time.

    What every batch shares is read once: the ids of superseded events and the last edits of
    homes, rules and actions (:meth:`Store.change_stamps`). Each occurrence is checked against
    every one computed before it by the same object: a duplicate UID is refused across the whole
    calendar, as clients would silently keep only one of the two events.
    """

    def __init__(
        self,
        net: Network,
        as_of: dt.date,
        *,
        rules: Sequence[str] | None = None,
        days: int = DEFAULT_DAYS,
        history_days: int = DEFAULT_HISTORY_DAYS,
    ) -> None:
        check_window(days, history_days)
        self.net = net
        self.as_of = as_of
        self.rules = list(rules) if rules else None  # keys, already checked (Network.filters)
        self.until = as_of + dt.timedelta(days=days)
        self.since = as_of - dt.timedelta(days=history_days)
        # start: the engine need not explain ten years of settled history to drop it below
        self.query = Query(
            as_of, self.until, explain=True, closed=True, holidays=net.holidays, start=self.since
        )
        self.superseded = net.store.superseded_ids()
        self.changes = net.store.change_stamps()
        self._seen: set[str] = set()

    def batch(self, home_ids: Sequence[str]) -> list[tuple[Item, Stamp]]:
        """The feed's occurrences of these homes with their stamps, in calendar order
        (:func:`~compliance.ical.event_key`).

        Open ones due on or before ``as_of + days`` (exactly what ``compliance due --days`` lists
        for the same homes and rules), and closed ones (done, late, waived) due or closed in the
        last ``history_days``. Each carries its explanation steps.
        """
        from .ical import uid_for

        store, as_of = self.net.store, self.as_of
        ids = sorted(set(home_ids))
        snap = store.snapshot(ids, open_actions_only=False)
        log = _Log(store.events_of(ids), self.superseded)
        until, since = self.until, self.since
        items = [
            it
            for it in occurrences(
                self.net, snap, self.query, rules=self.rules, histories=log.histories()
            )
            if it.occ.due <= until
            and (it.occ.is_open or max(it.occ.due, it.occ.done_on or it.occ.due) >= since)
        ]
        items.sort(key=event_key)
        for it in items:
            uid = uid_for(it.occ.id)
            if uid in self._seen:  # clients silently keep one of two events sharing a UID
                raise ValueError(f"duplicate occurrence {it.occ.id} in a calendar")
            self._seen.add(uid)
        return [(it, stamp_for(it, log, as_of, self.changes)) for it in items]

    def batches(
        self, home_ids: Sequence[str], size: int = BATCH_HOMES
    ) -> Iterator[list[tuple[Item, Stamp]]]:
        """:meth:`batch` for ``size`` homes at a time, in the order of ``home_ids``."""
        if size < 1:
            raise ValueError("a batch holds at least one home")
        for i in range(0, len(home_ids), size):
            yield self.batch(home_ids[i : i + size])

"""The scheduler: a pure function from rules, the event log and a date to occurrences.

Nothing here reads the clock or the database. ``as_of`` is "today"; ``until`` is the last due
date of interest (``as_of + days`` for listings). Each occurrence carries the steps that explain
it when ``explain`` is set; the fast path (``explain=False``, ``closed=False``) skips closed
periods without building them.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial

from .dates import (
    ONE_DAY,
    Period,
    add_months,
    add_years,
    period_key,
    period_key_iso,
    period_of,
    period_starts,
)
from .model import Action, Cadence, History, Home, Occurrence, Rule, occurrence_id
from .status import URGENCY, status_at
from .workdays import BankHolidays

EMPTY = History()


@dataclass(frozen=True)
class Waiver:
    reason: str
    date: dt.date
    event_id: str


@dataclass
class Query:
    """What to compute: the date, the horizon, and how much detail."""

    as_of: dt.date
    until: dt.date
    explain: bool = False
    closed: bool = False  # include done, late and waived occurrences (history, calendar, feeds)
    # Leave out occurrences settled before this date: due before it and, if closed, closed before
    # it (a view from a start: the calendar's year, a feed's look-back). Open ones always stay.
    # Earlier events still count: only what is listed changes, never a computed date.
    start: dt.date | None = None

    def settled_before_start(self, due: dt.date, closed_on: dt.date | None) -> bool:
        s = self.start
        return s is not None and due < s and closed_on is not None and closed_on < s

    holidays: BankHolidays = field(default_factory=BankHolidays)


@lru_cache(maxsize=65536)  # pure, and a network's homes share their periods' dates
def due_from(due: dt.date, window_start: dt.date, lead: int, window: bool) -> dt.date:
    """The first day an open occurrence counts as ``due`` (before it, ``upcoming``): the start of
    its window for rules that have one (calendar periods, "within N days of"), and in any case
    the start of the rule's lead time."""
    lead_start = due - dt.timedelta(days=lead)
    return min(window_start, lead_start) if window else lead_start


def status_of(due: dt.date, window_start: dt.date, as_of: dt.date, lead: int, window: bool) -> str:
    return status_at(due, due_from(due, window_start, lead, window), as_of)


def _open(
    oid: str,
    home: Home,
    rule: Rule,
    period: str,
    start: dt.date,
    due: dt.date,
    q: Query,
    window: bool,
    steps: list[str],
    title: str | None = None,
) -> Occurrence:
    """An open occurrence as of ``q.as_of``, with the day it turns due (what the agenda keeps);
    with ``q.explain``, the status step closes ``steps``."""
    frm = due_from(due, start, rule.lead_days, window)
    status = status_at(due, frm, q.as_of)
    if q.explain:
        steps.append(_status_step(status, due, q.as_of, rule.lead_days, window))
    return Occurrence(
        oid,
        home.id,
        rule.key,
        period,
        start,
        due,
        status,
        title=title,
        steps=tuple(steps),
        due_from=frm,
    )


def _status_step(status: str, due: dt.date, as_of: dt.date, lead: int, window: bool) -> str:
    left = (due - as_of).days
    if status == "overdue":
        return (
            f"As of {as_of}: {-left} day{'s' if -left != 1 else ''} past the due date "
            f"(C1: overdue from 00:00 on {due + ONE_DAY}) -> overdue."
        )
    why = "the window is open" if window else f"inside the {lead}-day lead time"
    if status == "due":
        return f"As of {as_of}: {left} day{'s' if left != 1 else ''} left, {why} -> due."
    return f"As of {as_of}: {left} days left, before the {lead}-day lead time -> upcoming."


def _d(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


def _event_text(hist: History, day: dt.date) -> str:
    for e in hist.events:
        if e.date == day:
            who = f" by {e.by}" if e.by else ""
            at = f" at {e.at} UTC, local date {e.date}" if e.at else ""
            return f"event {e.id} on {day}{at}{who}"
    return f"event on {day}"


def compute(
    home: Home,
    rule: Rule,
    hist: History,
    q: Query,
    *,
    since: dt.date,
    waivers: Mapping[str, Waiver] | None = None,
    trigger: History | None = None,
    actions: Iterable[Action] = (),
    action_done: Mapping[str, dt.date] | None = None,
) -> list[Occurrence]:
    """Every occurrence of ``rule`` for ``home`` (open ones only unless ``q.closed``)."""
    waivers = waivers or {}
    kind = rule.cadence.kind
    if kind == "period":
        out = _period(home, rule, hist, q, since, waivers)
    elif kind == "gap":
        out = _gap(home, rule, hist, q, since, waivers)
    elif kind == "expiry":
        out = _expiry(home, rule, hist, q, since, waivers)
    elif kind == "after":
        out = _after(home, rule, hist, trigger or EMPTY, q, since, waivers)
    elif kind == "action":
        out = _actions(home, rule, actions, action_done or {}, q, waivers)
    elif kind == "record":
        return []  # kept on record (e.g. an Ofsted monitoring inspection); owes nothing
    else:
        raise ValueError(f"unknown cadence {kind!r}")
    if q.start is not None:
        return [o for o in out if o.is_open or not q.settled_before_start(o.due, o.done_on)]
    return out


# -- calendar periods (C4) ---------------------------------------------------------------------


def _period(
    home: Home, rule: Rule, hist: History, q: Query, since: dt.date, waivers: Mapping[str, Waiver]
) -> list[Occurrence]:
    kind = rule.cadence.period or "month"
    first = period_of(since, kind)
    last = period_of(max(q.until, q.as_of), kind)
    if not (q.closed or q.explain) and last.end > q.until:
        last = period_of(last.start - ONE_DAY, kind)  # due after the horizon: not listed
    if last.start < first.start:
        return []
    full = q.closed or q.explain
    starts, order, expected = _expected(kind, first.start, last.start)
    gaps: list[str] | None = None
    if kind == "month":
        # Fast path: when every month from first to last holds an event, nothing is open.
        if not full and hist.covers_months(first.key, last.key, len(order)):
            return []
        if not full:  # a few gaps: found on the summary string without splitting it
            gaps = hist.missing_months(order)
        keys: tuple[str, ...] | list[str] = () if gaps is not None else hist.months
    else:
        # Fast path: a few searches of the sorted dates, one per period, instead of the key of
        # every date (a national network asks this of every home).
        if not full and _covers(hist.dates, kind, first.start, last.start):
            return []
        keys = sorted({period_key_iso(d, kind) for d in hist.dates})
        if not full:
            covered = bisect_right(keys, last.key) - bisect_left(keys, first.key)
            if covered >= len(order):
                return []
    keyset = set(keys)
    out: list[Occurrence] = []
    window = True
    if full:
        # periods are independent of each other (C4): a period settled before q.start (an event
        # in it, or a waiver dated before q.start) is skipped; a missed one stays open and listed
        todo = (
            starts
            if q.start is None
            else [
                d
                for d in starts
                if not _settled(home, rule, period_of(d, kind), keyset, waivers, q)
            ]
        )
    elif gaps is not None:
        todo = [expected[k] for k in gaps]
    else:
        missing = expected.keys() - keyset  # a set difference in C: only the gaps are visited
        todo = sorted(expected[k] for k in missing)
    for start in todo:
        p: Period = period_of(start, kind)
        oid = occurrence_id(home.id, rule.key, p.key)
        steps: list[str] = []
        if q.explain:
            steps.append(
                f"{rule.title}: {rule.cadence.describe()} (C4: a second event in one period "
                "does not cover the next; a missed period stays a breach until waived)."
            )
            steps.append(
                f"Period {p.key}: {p.start} to {p.end}; the due date is its last day, {p.end} "
                f"(C1: overdue from 00:00 Europe/London on {p.end + ONE_DAY})."
            )
            if p.start <= since <= p.end and since != p.start:
                steps.append(
                    f"Tracking starts on {since}, inside this period, so the period is owed."
                )
        if p.key in keyset:
            i = bisect_left(hist.dates, p.start.isoformat())
            day = _d(hist.dates[i])
            if q.explain:
                steps.append(f"Satisfied by {_event_text(hist, day)} (counted on its local date).")
            out.append(_closed(oid, home, rule, p.key, p.start, p.end, "done", day, steps, hist))
        elif oid in waivers:
            w = waivers[oid]
            if q.closed or q.explain:
                if q.explain:
                    steps.append(f"No event in the period; waived on {w.date}: {w.reason}")
                out.append(_waived(oid, home, rule, p.key, p.start, p.end, w, steps))
        else:
            if q.explain:
                steps.append("No event recorded in this period.")
            out.append(_open(oid, home, rule, p.key, p.start, p.end, q, window, steps))
    return out


def _settled(
    home: Home, rule: Rule, p: Period, keys: set[str], waivers: Mapping[str, Waiver], q: Query
) -> bool:
    """Whether period ``p`` was closed before ``q.start`` (an event in it, or an earlier waiver)."""
    if q.start is None or p.end >= q.start:
        return False
    if p.key in keys:
        return True  # its event lies inside the period, so before q.start
    w = waivers.get(occurrence_id(home.id, rule.key, p.key))
    return w is not None and w.date < q.start


_EXPECTED: dict[
    tuple[str, dt.date, dt.date], tuple[list[dt.date], list[str], dict[str, dt.date]]
] = {}
_BOUNDS: dict[tuple[str, dt.date, dt.date], list[tuple[str, str]]] = {}


def _covers(dates: tuple[str, ...], kind: str, first: dt.date, last: dt.date) -> bool:
    """True when every period from the one starting ``first`` to the one starting ``last``
    holds one of ``dates`` (sorted ISO dates)."""
    k = (kind, first, last)
    bounds = _BOUNDS.get(k)
    if bounds is None:
        starts, _, _ = _expected(kind, first, last)
        bounds = _BOUNDS[k] = [(s.isoformat(), period_of(s, kind).end.isoformat()) for s in starts]
    n = len(dates)
    for start, end in bounds:
        i = bisect_left(dates, start)
        if i == n or dates[i] > end:
            return False
    return True


def _expected(
    kind: str, first: dt.date, last: dt.date
) -> tuple[list[dt.date], list[str], dict[str, dt.date]]:
    """Every period from ``first`` to ``last``: their starts, their keys (both in order) and a
    key -> start map (shared by homes)."""
    k = (kind, first, last)
    if k not in _EXPECTED:
        p0, p1 = period_of(first, kind), period_of(last, kind)
        starts = period_starts(p0, p1)
        keys = [period_key(s, kind) for s in starts]
        _EXPECTED[k] = (starts, keys, dict(zip(keys, starts, strict=True)))
    return _EXPECTED[k]


def _closed(
    oid: str,
    home: Home,
    rule: Rule,
    period: str,
    start: dt.date,
    due: dt.date,
    status: str,
    day: dt.date,
    steps: list[str],
    hist: History,
) -> Occurrence:
    ev = next((e.id for e in hist.events if e.date == day), None)
    return Occurrence(
        oid,
        home.id,
        rule.key,
        period,
        start,
        due,
        status,
        done_on=day,
        event_id=ev,
        steps=tuple(steps),
    )


def _waived(
    oid: str,
    home: Home,
    rule: Rule,
    period: str,
    start: dt.date,
    due: dt.date,
    w: Waiver,
    steps: list[str],
) -> Occurrence:
    return Occurrence(
        oid,
        home.id,
        rule.key,
        period,
        start,
        due,
        "waived",
        done_on=w.date,
        event_id=w.event_id,
        reason=w.reason,
        steps=tuple(steps),
    )


# -- maximum gap since the previous event (C5) ---------------------------------------------------


def step_interval(c: Cadence, d: dt.date) -> dt.date:
    """The previous date plus the cadence's interval: months and years clamped to month end (C5)."""
    out = add_months(d, c.months) if c.months else d
    if c.years:
        out = add_years(out, c.years)
    return out + dt.timedelta(days=c.days)


def _interval_step(c: Cadence, base: dt.date, due: dt.date, what: str) -> str:
    text = f"{what} {base} + {c.interval_text()} = {due}"
    if (c.months or c.years) and not c.days:
        corresponding = base.day
        if due.day != corresponding:
            text += f" (C5: no day {corresponding} in that month, clamped to its last day)"
        else:
            text += " (C5: the corresponding date)"
    return text + "."


def _gap(
    home: Home, rule: Rule, hist: History, q: Query, since: dt.date, waivers: Mapping[str, Waiver]
) -> list[Occurrence]:
    c = rule.cadence
    if not (q.closed or q.explain):
        # Fast path: the next due date comes from the last event; past the horizon, nothing is
        # listed (a waiver could only move it later).
        last = hist.last()
        if last is not None and last > since.isoformat() and step_interval(c, _d(last)) > q.until:
            return []
    iso = hist.dates
    k = bisect_right(iso, since.isoformat())  # iso[:k] are on or before since
    steps: list[str] = []
    prior = _d(iso[k - 1]) if k else None
    if prior is not None and step_interval(c, prior) >= since:
        anchor, label = prior, "the previous event on"
    else:
        anchor, label = since, "tracking start (since)"
        if q.explain:
            steps.append(
                f"No event on or before {since} whose next date falls after it: the first is "
                f"owed {c.interval_text()} after tracking starts."
            )
    if q.closed or q.explain:
        later = [_d(x) for x in iso[k:]]
    elif k < len(iso):
        anchor, label, later = _d(iso[-1]), "the previous event on", []
    else:
        later = []
    out: list[Occurrence] = []
    i = 0
    while True:
        due = step_interval(c, anchor)
        oid = occurrence_id(home.id, rule.key, due.isoformat())
        s = list(steps) if q.explain else []
        steps = []
        if q.explain:
            s.append(f"{rule.title}: {rule.cadence.describe()}.")
            s.append(_interval_step(c, anchor, due, f"Due: {label}"))
        if oid in waivers and (i >= len(later) or later[i] > due):
            w = waivers[oid]
            if (q.closed or q.explain) and not q.settled_before_start(due, w.date):
                s.append(f"Waived on {w.date}: {w.reason}; the next is reckoned from {due}.")
                out.append(_waived(oid, home, rule, due.isoformat(), anchor + ONE_DAY, due, w, s))
            anchor, label = due, "the waived due date"
            continue
        if i < len(later):
            day = later[i]
            i += 1
            status = "done" if day <= due else "late"
            if (q.closed or q.explain) and not q.settled_before_start(due, day):
                s.append(
                    f"Satisfied by {_event_text(hist, day)}"
                    + (" (late)." if status == "late" else ".")
                )
                out.append(
                    _closed(
                        oid,
                        home,
                        rule,
                        due.isoformat(),
                        anchor + ONE_DAY,
                        due,
                        status,
                        day,
                        s,
                        hist,
                    )
                )
            anchor, label = day, "the previous event on"
            continue
        if q.explain:
            s.append("No later event recorded.")
        out.append(_open(oid, home, rule, due.isoformat(), anchor + ONE_DAY, due, q, False, s))
        return out


# -- approvals with an expiry ------------------------------------------------------------------


def _expiry(
    home: Home, rule: Rule, hist: History, q: Query, since: dt.date, waivers: Mapping[str, Waiver]
) -> list[Occurrence]:
    c = rule.cadence
    grants = [_d(d) for d in hist.dates]
    out: list[Occurrence] = []

    def expiry_of(g: dt.date) -> tuple[dt.date, str]:
        printed = hist.expiries.get(g.isoformat())
        if printed is not None:
            return printed, f"Approval granted {g}: expiry printed on the approval, {printed}."
        x = add_years(g, c.years) if c.years else step_interval(c, g)
        return x, _interval_step(c, g, x, f"Approval granted {g} with no printed expiry:")

    if not grants:
        due = add_years(since, c.years) if c.years else step_interval(c, since)
        grant, text = (
            since,
            (
                f"No approval recorded: assuming one granted when tracking started ({since}); "
                f"{since} + {c.interval_text()} = {due}. Record the approval with its expiry."
            ),
        )
        chain = [(grant, due, text)]
    else:
        chain = [(g, *expiry_of(g)) for g in grants]
    if not q.closed and not q.explain:
        chain = chain[-1:]
    for k, (grant, due, text) in enumerate(chain):
        oid = occurrence_id(home.id, rule.key, due.isoformat())
        s = [f"{rule.title}: {rule.cadence.describe()}.", text] if q.explain else []
        renewal = chain[k + 1][0] if k + 1 < len(chain) else None
        if renewal is not None:
            if q.closed or q.explain:
                status = "done" if renewal <= due else "late"
                if q.explain:
                    s.append(
                        f"Renewed by the approval of {renewal}"
                        + (" (late)." if status == "late" else ".")
                    )
                out.append(
                    _closed(
                        oid,
                        home,
                        rule,
                        due.isoformat(),
                        grant + ONE_DAY,
                        due,
                        status,
                        renewal,
                        s,
                        hist,
                    )
                )
            continue
        while oid in waivers:
            w = waivers[oid]
            if q.closed or q.explain:
                s.append(f"Waived on {w.date}: {w.reason}.")
                out.append(_waived(oid, home, rule, due.isoformat(), grant + ONE_DAY, due, w, s))
                s = [f"{rule.title}: {rule.cadence.describe()}."] if q.explain else []
            grant, due = due, (add_years(due, c.years) if c.years else step_interval(c, due))
            oid = occurrence_id(home.id, rule.key, due.isoformat())
            if q.explain:
                s.append(f"Reckoned from the waived expiry: {grant} + {c.interval_text()} = {due}.")
        if q.explain:
            s.append("No renewal recorded.")
        out.append(_open(oid, home, rule, due.isoformat(), grant + ONE_DAY, due, q, False, s))
    return out


# -- N days after another rule's event (C2, C3) -------------------------------------------------


def _after(
    home: Home,
    rule: Rule,
    hist: History,
    trigger: History,
    q: Query,
    since: dt.date,
    waivers: Mapping[str, Waiver],
) -> list[Occurrence]:
    c = rule.cadence
    all_triggers = trigger.dates
    first = bisect_left(all_triggers, since.isoformat())
    # A trigger before tracking starts is still owed when its due date falls on or after since,
    # as an earlier event anchors an "at most N after" rule (due dates rise with the trigger).
    while first and _after_due(c, home, q, _d(all_triggers[first - 1]))[0] >= since:
        first -= 1
    triggers = all_triggers[first:]
    out: list[Occurrence] = []
    full = q.closed or q.explain
    sat = hist.dates
    # pos[k]: index of the first satisfying event on or after trigger k; trigger k is satisfied
    # when that event comes before trigger k + 1, i.e. when pos[k] < pos[k + 1].
    pos = list(map(partial(bisect_left, sat), triggers))
    pos.append(len(sat))
    todo = (
        range(len(triggers)) if full else [k for k in range(len(triggers)) if pos[k] == pos[k + 1]]
    )
    for k in todo:
        t_iso = triggers[k]
        done = sat[pos[k]] if pos[k] < pos[k + 1] else None
        t = _d(t_iso)
        oid = occurrence_id(home.id, rule.key, t_iso)
        s: list[str] = []
        due, skipped = _after_due(c, home, q, t)
        if q.explain:
            s.append(f"{rule.title}: {rule.cadence.describe()}.")
            if c.working_days:
                s.append(
                    f"C3: {c.working_days} working days counted from {t + ONE_DAY}, skipping Saturdays, "
                    f"Sundays and {home.nation.title()} bank holidays: due {due}."
                )
                for day, name in skipped:
                    s.append(f"Bank holiday skipped: {day} {name}.")
            else:
                s.append(
                    f"C2: {c.after} on {t} + {c.days} calendar days = {due} "
                    "(weekends and bank holidays do not move it)."
                )
            if t < since:
                s.append(
                    f"The {c.after} of {t} came before tracking started ({since}), but this is "
                    "due after it, so it is owed."
                )
        if done is not None:
            if full and not q.settled_before_start(due, _d(done)):
                day = _d(done)
                status = "done" if day <= due else "late"
                if q.explain:
                    s.append(
                        f"Satisfied by {_event_text(hist, day)}"
                        + (" (late)." if status == "late" else ".")
                    )
                out.append(_closed(oid, home, rule, t_iso, t, due, status, day, s, hist))
            continue
        if oid in waivers:
            if q.closed or q.explain:
                w = waivers[oid]
                s.append(f"Waived on {w.date}: {w.reason}.")
                out.append(_waived(oid, home, rule, t_iso, t, due, w, s))
            continue
        if q.explain:
            s.append(f"No {rule.key} recorded on or after {t}.")
        out.append(_open(oid, home, rule, t_iso, t, due, q, True, s))
    return out


def _after_due(
    c: Cadence, home: Home, q: Query, t: dt.date
) -> tuple[dt.date, list[tuple[dt.date, str]]]:
    """The due date of an "after" rule for a trigger on ``t`` (C2 or C3), and for working days
    the bank holidays skipped on the way."""
    if c.working_days:
        return q.holidays.add_working_days(home.nation, t, c.working_days)
    return t + dt.timedelta(days=c.days), []


# -- one-off actions ---------------------------------------------------------------------------


def _actions(
    home: Home,
    rule: Rule,
    actions: Iterable[Action],
    done: Mapping[str, dt.date],
    q: Query,
    waivers: Mapping[str, Waiver],
) -> list[Occurrence]:
    out: list[Occurrence] = []
    lead = dt.timedelta(days=rule.lead_days)
    for a in actions:
        oid = occurrence_id(home.id, rule.key, a.id)
        start = a.created or a.due - lead
        s: list[str] = []
        if q.explain:
            s.append(
                f"Action {a.id}: {a.title!r}, due {a.due}"
                + (f" (source: {a.source})" if a.source else "")
                + "."
            )
            s.append(
                "An action is overdue from the day after its due date; a bank holiday does not move it."
            )
        if a.id in done:
            day = done[a.id]
            if q.closed or q.explain:
                status = "done" if day <= a.due else "late"
                if q.explain:
                    s.append(f"Closed on {day}" + (" (late)." if status == "late" else "."))
                out.append(
                    Occurrence(
                        oid,
                        home.id,
                        rule.key,
                        a.id,
                        start,
                        a.due,
                        status,
                        done_on=day,
                        title=a.title,
                        steps=tuple(s),
                    )
                )
            continue
        if oid in waivers:
            if q.closed or q.explain:
                w = waivers[oid]
                s.append(f"Waived on {w.date}: {w.reason}.")
                out.append(
                    Occurrence(
                        oid,
                        home.id,
                        rule.key,
                        a.id,
                        start,
                        a.due,
                        "waived",
                        done_on=w.date,
                        event_id=w.event_id,
                        reason=w.reason,
                        title=a.title,
                        steps=tuple(s),
                    )
                )
            continue
        out.append(_open(oid, home, rule, a.id, start, a.due, q, False, s, a.title))
    return out


def sort_key(o: Occurrence) -> tuple[dt.date, int, str, str, str]:
    """Most urgent first: earliest due date, then state, then home and rule."""
    return (o.due, URGENCY.get(o.status, 3), o.home, o.rule, o.period)

"""Domain records: homes, events, actions, rules and the occurrences computed from them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

NATIONS = ("england", "wales", "scotland")
BASES = (
    "statute",
    "statutory guidance",
    "guidance",
    "inspectorate policy",
    "contract",
    "provider policy",
)
OPEN_STATUSES = ("overdue", "due", "upcoming")
CLOSED_STATUSES = ("done", "late", "waived")


@dataclass(slots=True)  # not frozen: a network has thousands, and frozen __init__ is slow
class Home:
    id: str
    name: str
    nation: str
    secure: bool = True
    yjb: bool = False
    since: dt.date | None = None
    urn: str | None = None
    url: str | None = None
    local_authority: str | None = None
    sector: str | None = None
    places: int | None = None
    provision: str | None = None


@dataclass(slots=True)  # not frozen: a network has thousands, and frozen __init__ is slow
class Event:
    """One entry of the append-only log.

    ``kind`` is "done" (something happened that satisfies ``rule``) or "waiver" (an occurrence,
    named by ``target``, is closed without an event, with ``notes`` as the reason). An action's
    completion is a "done" event of rule "action" whose ``target`` is the action id.
    """

    id: str
    home: str
    rule: str
    date: dt.date  # local date in Europe/London: what the event counts on
    kind: str = "done"
    at: str | None = None  # the instant, ISO in UTC, when a time was given
    by: str | None = None
    evidence: str | None = None
    notes: str | None = None
    outcome: str | None = None
    expires: dt.date | None = None
    target: str | None = None
    supersedes: str | None = None
    recorded_at: str | None = None


@dataclass(slots=True)  # not frozen: a network has thousands, and frozen __init__ is slow
class Action:
    id: str
    home: str
    title: str
    due: dt.date
    source: str | None = None
    owner: str | None = None
    created: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often a rule recurs.

    kind: "period" (every ``period`` must contain an event), "gap" (at most ``months``/``years``/
    ``days`` after the previous event), "expiry" (the approval's printed expiry, else grant +
    ``years``), "after" (``days`` calendar or ``working_days`` after each event of rule ``after``),
    "action" (one-off dated actions), "record" (events kept on record that create no obligation,
    e.g. Ofsted monitoring inspections).
    """

    kind: str
    period: str | None = None
    months: int = 0
    years: int = 0
    days: int = 0
    working_days: int = 0
    after: str | None = None

    def describe(self) -> str:
        if self.kind == "period":
            names = {
                "month": "every calendar month",
                "quarter": "every calendar quarter",
                "inspection-year": "every inspection year (1 April to 31 March)",
                "year": "every calendar year",
            }
            return f"at least once in {names.get(self.period or '', str(self.period))}"
        if self.kind == "gap":
            return f"at most {self.interval_text()} after the previous one"
        if self.kind == "expiry":
            return (
                f"before the approval expires (printed expiry, else grant + {self.interval_text()})"
            )
        if self.kind == "after":
            return f"within {self.interval_text()} of each {self.after}"
        if self.kind == "record":
            return "on record only: creates no obligation"
        return "by the action's due date"

    def interval_text(self) -> str:
        parts = []
        if self.years:
            parts.append(f"{self.years} year{'s' if self.years != 1 else ''}")
        if self.months:
            parts.append(f"{self.months} calendar month{'s' if self.months != 1 else ''}")
        if self.days:
            parts.append(f"{self.days} calendar day{'s' if self.days != 1 else ''}")
        if self.working_days:
            parts.append(f"{self.working_days} working day{'s' if self.working_days != 1 else ''}")
        return " ".join(parts) or "0 days"


@dataclass(frozen=True, slots=True)
class Example:
    """A worked example: given these events, as of this date, expect these occurrences."""

    name: str
    as_of: dt.date
    nation: str = "england"
    secure: bool = True
    yjb: bool = False
    since: dt.date | None = None
    events: tuple[tuple[str, dt.date, dt.date | None], ...] = ()  # (rule, date, expires)
    expect: tuple[dict[str, Any], ...] = ()  # {"period"|"due"|"status"|...}
    line: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    title: str
    cadence: Cadence
    source: str
    basis: str
    lead_days: int = 14
    nations: tuple[str, ...] = NATIONS
    secure: bool | None = None  # None: any home; True: secure homes only; False: non-secure only
    yjb: bool | None = None
    aliases: tuple[str, ...] = ()
    url: str | None = None
    note: str | None = None
    examples: tuple[Example, ...] = ()
    origin: str = "built-in"

    def applies_to(self, home: Home) -> bool:
        if home.nation not in self.nations:
            return False
        if self.secure is not None and home.secure != self.secure:
            return False
        return not (self.yjb is not None and home.yjb != self.yjb)

    def applies_text(self) -> str:
        parts = ["/".join(self.nations)]
        if self.secure is True:
            parts.append("secure homes")
        elif self.secure is False:
            parts.append("non-secure homes")
        if self.yjb:
            parts.append("with YJB places")
        return ", ".join(parts)


class History:
    """What the log holds for one home and rule, in the compact form the engine needs.

    ``dates``: sorted distinct local dates (ISO strings) of the satisfying events that are not
    superseded. ``months``: the sorted distinct months of those dates ("YYYY-MM"). ``latest``:
    the latest event in full (for explanations). ``events``: every event, when an explanation is
    wanted. ``expiries``: printed expiry per grant date (approvals).

    Built from the store's summary index, the comma-joined strings are split only when a rule
    asks for them: a monthly rule with no gaps never splits its dates.
    """

    __slots__ = ("_dates", "_expiries", "_months", "events", "latest")

    def __init__(
        self,
        dates: tuple[str, ...] | str = (),
        months: tuple[str, ...] | str = (),
        latest: Event | None = None,
        events: tuple[Event, ...] = (),
        expiries: dict[str, dt.date] | str | None = None,
    ) -> None:
        self._dates = dates
        self._months = months
        self._expiries = expiries
        self.latest = latest
        self.events = events

    @property
    def dates(self) -> tuple[str, ...]:
        if isinstance(self._dates, str):
            self._dates = tuple(self._dates.split(",")) if self._dates else ()
        return self._dates

    def covers_months(self, first: str, last: str, count: int) -> bool:
        """True when every month from ``first`` to ``last`` ("YYYY-MM", ``count`` of them) has an
        event. On the summary's raw string ("YYYY-MM," entries, 8 characters each, sorted and
        distinct) two searches decide it without splitting."""
        raw = self._months
        if isinstance(raw, str):
            i, j = raw.find(first), raw.find(last)
            return i >= 0 and j >= 0 and (j - i) // 8 + 1 == count
        months = raw
        from bisect import bisect_left, bisect_right

        return bisect_right(months, last) - bisect_left(months, first) >= count

    def missing_months(self, keys: list[str], most: int = 8) -> list[str] | None:
        """The months of ``keys`` (every month of a range, sorted) with no event, in order; None
        when this needs the split form instead (no raw summary string, or more than ``most``
        gaps). On the raw string ("YYYY-MM," entries, 8 characters each, sorted and distinct)
        binary searches find each gap without building a string per month: the months in the
        range are a subset of ``keys``, so the entries line up with ``keys`` until each gap."""
        raw = self._months
        if not isinstance(raw, str) or not keys:
            return None
        n = (len(raw) + 1) // 8

        def entry(i: int) -> str:
            return raw[8 * i : 8 * i + 7]

        def first_at_or_after(key: str) -> int:
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                if entry(mid) < key:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

        lo = first_at_or_after(keys[0])
        hi = first_at_or_after(keys[-1])
        if hi < n and entry(hi) == keys[-1]:
            hi += 1
        gaps = len(keys) - (hi - lo)
        if gaps > most:
            return None
        out: list[str] = []
        t = 0  # keys[t:] still to look at; entry lo + t - len(out) lines up with keys[t]
        while len(out) < gaps:
            a, b = t, len(keys) - 1  # the first t in [a, b] whose key is not the aligned entry
            while a < b:
                mid = (a + b) // 2
                if entry(lo + mid - len(out)) == keys[mid]:
                    a = mid + 1
                else:
                    b = mid
            out.append(keys[a])
            t = a + 1
        return out

    @property
    def months(self) -> tuple[str, ...]:
        if isinstance(self._months, str):
            self._months = tuple(self._months.split(",")) if self._months else ()
        return self._months

    @property
    def expiries(self) -> dict[str, dt.date]:
        if self._expiries is None:
            self._expiries = {}
        elif isinstance(self._expiries, str):
            import json

            self._expiries = {
                k: dt.date.fromisoformat(v) for k, v in json.loads(self._expiries).items()
            }
        return self._expiries

    def last(self) -> str | None:
        """The latest date (ISO), without splitting the summary string."""
        if isinstance(self._dates, str):
            return self._dates[-10:] if self._dates else None
        return self._dates[-1] if self._dates else None

    def upto(self, day: str) -> History:
        """This history as it stood at the end of ``day`` (ISO): later events are not yet known."""
        last = self.last()
        if last is None or last <= day:
            return self
        keep = tuple(d for d in self.dates if d <= day)
        exp = {k: v for k, v in self.expiries.items() if k <= day}
        evs = tuple(e for e in self.events if e.date.isoformat() <= day)
        return History(
            keep, tuple(sorted({d[:7] for d in keep})), evs[-1] if evs else None, evs, exp
        )

    @staticmethod
    def of(events: list[Event] | tuple[Event, ...]) -> History:
        """Build a history from full events (superseded ones already removed)."""
        done = sorted((e for e in events if e.kind == "done"), key=lambda e: (e.date, e.id))
        dates = tuple(sorted({e.date.isoformat() for e in done}))
        months = tuple(sorted({d[:7] for d in dates}))
        expiries: dict[str, dt.date] = {}
        for e in done:
            if e.expires is not None:
                expiries[e.date.isoformat()] = e.expires
        return History(dates, months, done[-1] if done else None, tuple(done), expiries)


@dataclass(slots=True)  # not frozen: frozen __init__ is several times slower, and there are many
class Occurrence:
    """One computed obligation: never stored, identified by ``home/rule/period``."""

    id: str
    home: str
    rule: str
    period: str
    window_start: dt.date
    due: dt.date
    status: str  # overdue | due | upcoming | done | late | waived
    done_on: dt.date | None = None
    event_id: str | None = None
    reason: str | None = None  # waiver reason
    title: str | None = None  # for actions: the action's own title
    steps: tuple[str, ...] = ()
    due_from: dt.date | None = None  # open ones: the first day it counts as due (engine.due_from)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def days_left(self, as_of: dt.date) -> int:
        return (self.due - as_of).days


def occurrence_id(home: str, rule: str, period: str) -> str:
    return f"{home}/{rule}/{period}"


def split_occurrence_id(oid: str) -> tuple[str, str, str]:
    """Split ``home/rule/period``; ValueError if it does not have three parts."""
    parts = oid.split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{oid!r} is not an occurrence id (expected HOME/RULE/PERIOD)")
    return parts[0], parts[1], parts[2]

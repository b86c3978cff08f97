"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt

from compliance import engine
from compliance.engine import Query, Waiver
from compliance.model import Action, Event, History, Home, Occurrence
from compliance.rules import builtin
from compliance.workdays import BankHolidays

D = dt.date.fromisoformat


def home(
    nation: str = "england", *, secure: bool = True, yjb: bool = False, since: str | None = None
) -> Home:
    return Home("h", "Test home", nation, secure=secure, yjb=yjb, since=D(since) if since else None)


def hist(rule: str, *dates: str, expires: dict[str, str] | None = None) -> History:
    evs = [
        Event(f"e{n}", "h", rule, D(d), expires=D(expires[d]) if expires and d in expires else None)
        for n, d in enumerate(dates)
    ]
    return History.of(evs)


def run(
    rule_key: str,
    dates: list[str],
    *,
    as_of: str,
    since: str,
    until: str | None = None,
    closed: bool = True,
    trigger: list[str] | None = None,
    nation: str = "england",
    waivers: dict[str, Waiver] | None = None,
    actions: list[Action] | None = None,
    action_done: dict[str, dt.date] | None = None,
    expires: dict[str, str] | None = None,
    holidays: BankHolidays | None = None,
    explain: bool = False,
    yjb: bool = False,
) -> list[Occurrence]:
    cat = builtin()
    rule = cat.rules[rule_key]
    h = home(nation, yjb=yjb)
    q = Query(
        D(as_of),
        D(until or as_of),
        explain=explain,
        closed=closed,
        holidays=holidays or BankHolidays(),
    )
    trig = hist(rule.cadence.after or "", *trigger) if trigger is not None else None
    return engine.compute(
        h,
        rule,
        hist(rule_key, *dates, expires=expires),
        q,
        since=D(since),
        waivers=waivers,
        trigger=trig,
        actions=actions or [],
        action_done=action_done,
    )


def by_period(occs: list[Occurrence]) -> dict[str, tuple[str, str]]:
    return {o.period: (o.due.isoformat(), o.status) for o in occs}

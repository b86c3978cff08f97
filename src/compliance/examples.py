"""Run a rule's worked examples through the engine: the tests and ``compliance check`` use this."""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import engine
from .engine import Query
from .model import Event, Example, History, Home, Occurrence, Rule
from .rules import Catalogue
from .workdays import BankHolidays


def example_occurrences(
    rule: Rule, ex: Example, cat: Catalogue, holidays: BankHolidays | None = None
) -> list[Occurrence]:
    home = Home("example", "Example home", ex.nation, secure=ex.secure, yjb=ex.yjb, since=ex.since)
    by_rule: dict[str, list[Event]] = {}
    for n, (name, date, expires) in enumerate(ex.events):
        key = cat.resolve(name) if name else rule.key
        key = key or name
        by_rule.setdefault(key, []).append(Event(f"x{n}", home.id, key, date, expires=expires))
    hists = {k: History.of(v) for k, v in by_rule.items()}
    since = ex.since or min((d for _, d, _ in ex.events), default=ex.as_of)
    q = Query(
        ex.as_of,
        ex.as_of + dt.timedelta(days=366),
        closed=True,
        holidays=holidays or BankHolidays(),
    )
    trigger = hists.get(rule.cadence.after or "", engine.EMPTY) if rule.cadence.after else None
    return engine.compute(
        home, rule, hists.get(rule.key, engine.EMPTY), q, since=since, trigger=trigger
    )


def check_example(
    rule: Rule, ex: Example, cat: Catalogue, holidays: BankHolidays | None = None
) -> list[str]:
    """The differences between an example's expectations and the engine (empty when it agrees)."""
    occs = example_occurrences(rule, ex, cat, holidays)
    problems: list[str] = []
    for want in ex.expect:
        found = _match(occs, want)
        if found is None:
            shown = ", ".join(f"{o.period} due {o.due} {o.status}" for o in occs[:6]) or "none"
            problems.append(
                f"{rule.key} example {ex.name!r}: no occurrence matches {_fmt(want)} (engine gives: {shown})"
            )
            continue
        for k, v in want.items():
            got = _field(found, k)
            if str(got) != str(v):
                problems.append(
                    f"{rule.key} example {ex.name!r}: {found.period} {k} is {got}, the example expects {v}"
                )
    return problems


def _field(o: Occurrence, k: str) -> Any:
    return {
        "period": o.period,
        "due": o.due,
        "status": o.status,
        "window_start": o.window_start,
        "done_on": o.done_on,
        "id": o.id,
    }[k]


def _match(occs: list[Occurrence], want: dict[str, Any]) -> Occurrence | None:
    for key in ("id", "period", "due"):
        if key in want:
            for o in occs:
                if str(_field(o, key)) == str(want[key]):
                    return o
            return None
    return None


def _fmt(want: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in want.items()) + "}"

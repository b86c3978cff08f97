"""Build a synthetic national database: N homes with Y years of history (for benchmarks).

    python bench/gen.py --homes 3000 --years 10 --db /tmp/national.db [--as-of 2026-11-22]

Homes are a mix like England's register: a handful of secure homes (some with YJB places, one in
Wales), the rest ordinary children's homes. Every home gets monthly Reg 44 visits, Reg 45 reviews
and reports, yearly Ofsted inspections and a few actions; about 1 in 40 monthly visits is missed so
that the history has real gaps. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

from compliance.dates import add_months, add_years, period_of
from compliance.fixture import action_id, event_id
from compliance.model import Action, Event, Home
from compliance.service import Network, update_index
from compliance.store import open_store


def generate(
    n_homes: int, years: int, as_of: dt.date, seed: int = 7
) -> tuple[list[Home], list[Event], list[Action]]:
    rng = random.Random(seed)
    start = add_years(as_of.replace(day=1), -years)
    homes: list[Home] = []
    events: list[Event] = []
    actions: list[Action] = []
    for i in range(n_homes):
        secure = i < 14
        nation = "wales" if i == 13 else "england"
        h = Home(
            f"home-{i:05d}",
            f"Home {i:05d}",
            nation,
            secure=secure,
            yjb=secure and i % 2 == 0,
            since=start,
            urn=f"SC{100000 + i}",
            places=rng.randint(2, 12),
        )
        homes.append(h)
        _history(h, rng, start, as_of, events, actions)
    return homes, events, actions


def history_for(
    homes: list[Home], years: int, as_of: dt.date, seed: int = 7
) -> tuple[list[Event], list[Action]]:
    """Ten (or ``years``) years of visits, reviews, inspections and actions for existing homes
    (for example the homes of a real Ofsted import), as :func:`generate` makes for its own."""
    rng = random.Random(seed)
    start = add_years(as_of.replace(day=1), -years)
    events: list[Event] = []
    actions: list[Action] = []
    for h in homes:
        _history(h, rng, start, as_of, events, actions)
    return events, actions


def _history(
    h: Home,
    rng: random.Random,
    start: dt.date,
    as_of: dt.date,
    events: list[Event],
    actions: list[Action],
) -> None:
    yesterday = as_of - dt.timedelta(days=1)
    secure, nation = h.secure, h.nation

    def ev(h: Home, rule: str, d: dt.date, **kw: object) -> None:
        if d <= yesterday:
            events.append(Event(event_id(h.id, rule, "done", d, kw.get("by")), h.id, rule, d, **kw))  # type: ignore[arg-type]

    p = period_of(start, "month")
    monthly = ["reg44-visit"] if nation == "england" else []
    if h.yjb:
        monthly.append("yjb-monitoring")
    while p.start <= as_of:
        for rule in monthly:
            if rng.random() < 0.005:
                continue  # a missed month: it stays overdue (the generator waives none)
            ev(h, rule, p.start + dt.timedelta(days=rng.randint(0, 25)), by="IV")
        if h.yjb and p.start.month in (1, 4, 7, 10):
            ev(h, "yjb-review", p.start + dt.timedelta(days=rng.randint(5, 60)), by="YCS")
        p = period_of(p.end + dt.timedelta(days=1), "month")
    if nation == "england":
        d = start + dt.timedelta(days=rng.randint(0, 60))
        while d < as_of:
            ev(h, "reg45-review", d, by="RM")
            ev(h, "reg45-report", d + dt.timedelta(days=rng.randint(5, 30)))
            d = add_months(d, 6) - dt.timedelta(days=rng.randint(0, 20))
        y = period_of(start, "inspection-year")
        while y.start <= as_of:
            ev(
                h,
                "ofsted-full",
                y.start + dt.timedelta(days=rng.randint(10, 300)),
                outcome="good",
            )
            if secure:
                ev(h, "ofsted-interim", y.start + dt.timedelta(days=rng.randint(10, 350)))
            y = period_of(y.end + dt.timedelta(days=1), "inspection-year")
            if rng.random() < 0.8:
                due = y.start + dt.timedelta(days=rng.randint(0, 300))
                a = Action(
                    action_id(h.id, f"Requirement {y.key}", due),
                    h.id,
                    f"Requirement {y.key}",
                    due,
                    "ofsted-full",
                    "RM",
                )
                actions.append(a)
                if due < as_of - dt.timedelta(days=30) or rng.random() < 0.5:
                    done = due - dt.timedelta(days=rng.randint(0, 20))
                    if done <= yesterday:
                        events.append(
                            Event(
                                event_id(h.id, "action", "done", done, a.id),
                                h.id,
                                "action",
                                done,
                                target=a.id,
                            )
                        )
        if secure:
            g = add_years(as_of, -2) + dt.timedelta(days=rng.randint(-300, 300))
            ev(h, "licence-renewal", g, expires=add_years(g, 3))
            ev(
                h,
                "ofsted-education",
                add_years(as_of, -1) + dt.timedelta(days=rng.randint(-200, 200)),
            )
    else:
        d = start
        while d < as_of:
            ev(h, "ri-visit", d + dt.timedelta(days=5))
            ev(h, "quality-review", d + dt.timedelta(days=9))
            d = add_months(d, 3)
        ev(h, "ciw-inspection", as_of - dt.timedelta(days=100))


def build(db: Path, n_homes: int, years: int, as_of: dt.date, seed: int = 7) -> tuple[int, int]:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    homes, events, actions = generate(n_homes, years, as_of, seed)
    store = open_store(db, create=True)
    with store.transaction():
        store.put_network({"name": f"Synthetic national network ({n_homes} homes)"})
        store.put_homes(homes)
        store.put_actions(actions)
        store.append_events_bulk(events, origin="bench/gen.py")
    update_index(Network.open(store, index=False))  # as 'compliance import ofsted' does
    store.conn.execute("ANALYZE")
    store.close()
    return len(homes), len(events)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--homes", type=int, default=3000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--as-of", default="2026-11-22")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--db", required=True)
    a = ap.parse_args()
    t = time.perf_counter()
    h, e = build(Path(a.db), a.homes, a.years, dt.date.fromisoformat(a.as_of), a.seed)
    print(f"{a.db}: {h} homes, {e} events in {time.perf_counter() - t:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

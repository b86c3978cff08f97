"""A demo network: fifteen fictional secure children's homes with two years of realistic history.

``build(as_of)`` places the history relative to ``as_of``. With ``mix=True`` (what ``compliance
demo`` uses) a few recent events are held back so that the demo always shows a realistic mix:
some overdue, some due this week, most on time. With ``mix=False`` every duty is met on time or
waived (``fixtures/demo-network.toml`` is this, at a fixed date, and passes ``compliance check``).
All names are fictional; no child appears anywhere.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from .dates import add_months, add_years, period_of

HOMES: list[tuple[str, str, str, bool]] = [
    # id, name, nation, yjb
    ("northgate", "Northgate House", "england", True),
    ("ashdown", "Ashdown Lodge", "england", True),
    ("beacon-hill", "Beacon Hill", "england", False),
    ("carrick-view", "Carrick View", "england", True),
    ("dunmore", "Dunmore Court", "england", False),
    ("elmwood", "Elmwood Secure Unit", "england", True),
    ("fernlea", "Fernlea House", "england", False),
    ("greystones", "Greystones", "england", True),
    ("harbourside", "Harbourside Centre", "england", False),
    ("ivybridge", "Ivybridge Lodge", "england", True),
    ("juniper", "Juniper House", "england", False),
    ("kestrel", "Kestrel Court", "england", True),
    ("larchfield", "Larchfield", "england", False),
    ("moorview", "Moorview Secure Centre", "england", False),
    ("tyddyn", "Tŷ Dyffryn", "wales", True),
]

VISITORS = [
    "IV-01 (independent visitor)",
    "IV-02 (independent visitor)",
    "IV-03 (independent visitor)",
]
OUTCOMES = ["outstanding", "good", "good", "good", "requires improvement"]


def _rand_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def build(as_of: dt.date, *, mix: bool = True, seed: int = 44) -> dict[str, Any]:
    """The demo network as fixture data (the dict a fixture TOML file parses to)."""
    rng = random.Random(seed)
    since = add_years(as_of.replace(day=1), -2)
    yesterday = as_of - dt.timedelta(days=1)
    homes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    waivers: list[dict[str, Any]] = []

    def ev(home: str, rule: str, date: dt.date, **extra: Any) -> None:
        if date <= yesterday:
            events.append({"home": home, "rule": rule, "date": date, **extra})

    for n, (hid, name, nation, yjb) in enumerate(HOMES):
        homes.append(
            {
                "id": hid,
                "name": name,
                "nation": nation,
                "secure": True,
                "yjb": yjb,
                "since": since,
                "urn": f"SC{900001 + n:06d}" if nation == "england" else None,
            }
        )
        homes[-1] = {k: v for k, v in homes[-1].items() if v is not None}
        # monthly duties: a visit every month; the current month visited early in it, or not yet
        monthly = ["reg44-visit"] if nation == "england" else []
        if yjb:
            monthly.append("yjb-monitoring")
        for rule in monthly:
            p = period_of(since, "month")
            while p.start <= as_of:
                day = _rand_day(
                    rng,
                    p.start + dt.timedelta(days=2),
                    min(p.end - dt.timedelta(days=3), p.start + dt.timedelta(days=24)),
                )
                skip = (
                    mix
                    and rule == "reg44-visit"
                    and hid == "beacon-hill"
                    and p.end < as_of
                    and p.end >= as_of - dt.timedelta(days=31)
                )
                if (
                    not mix
                    and hid == "fernlea"
                    and rule == "reg44-visit"
                    and p.start == add_months(since, 7)
                ):
                    waivers.append(
                        {
                            "home": hid,
                            "rule": rule,
                            "period": p.key,
                            "date": p.end + dt.timedelta(days=3),
                            "reason": "Visitor post vacant; interim visit by the responsible individual",
                            "by": "Registered manager",
                        }
                    )
                elif not skip:
                    ev(
                        hid,
                        rule,
                        day,
                        by=rng.choice(VISITORS) if rule == "reg44-visit" else "YCS monitor",
                        evidence=f"reports/{day:%Y-%m}-{hid}.pdf"
                        if rule == "reg44-visit"
                        else None,
                    )
                p = period_of(p.end + dt.timedelta(days=1), "month")
        if yjb:
            p = period_of(since, "quarter")
            while p.start <= as_of:
                ev(
                    hid,
                    "yjb-review",
                    _rand_day(
                        rng, p.start + dt.timedelta(days=10), p.start + dt.timedelta(days=70)
                    ),
                    by="YCS contract manager",
                )
                p = period_of(p.end + dt.timedelta(days=1), "quarter")
        if nation == "england":
            _england(rng, hid, n, since, as_of, mix, ev, actions)
        else:
            _wales(rng, hid, since, as_of, ev)
    for e in events:
        for k in [k for k, v in e.items() if v is None]:
            del e[k]
    data: dict[str, Any] = {
        "schema": 1,
        "network": {"name": "Example Secure Accommodation Network (fictional demo)"},
        "homes": homes,
        "events": sorted(events, key=lambda e: (e["date"], e["home"], e["rule"])),
        "actions": actions,
    }
    if waivers:
        data["waivers"] = waivers
    return data


def _england(
    rng: random.Random,
    hid: str,
    n: int,
    since: dt.date,
    as_of: dt.date,
    mix: bool,
    ev: Any,
    actions: list[dict[str, Any]],
) -> None:
    # Reg 45 reviews roughly every five to six months, each reported within 28 days
    review = since + dt.timedelta(days=rng.randint(5, 40))
    stop = as_of
    if mix and hid == "fernlea":
        stop = add_months(
            as_of + dt.timedelta(days=5), -6
        )  # the next review falls due within the week
    while review < stop:
        hold_report = mix and hid == "dunmore" and review > as_of - dt.timedelta(days=60)
        ev(hid, "reg45-review", review, by="Registered manager")
        if not hold_report:
            ev(
                hid,
                "reg45-report",
                review + dt.timedelta(days=rng.randint(7, 24)),
                evidence=f"reports/reg45-{review:%Y-%m}-{hid}.pdf",
            )
        review = add_months(review, 6) - dt.timedelta(days=rng.randint(3, 25))
    if stop != as_of:
        ev(hid, "reg45-review", stop, by="Registered manager")
        ev(
            hid,
            "reg45-report",
            stop + dt.timedelta(days=12),
            evidence=f"reports/reg45-{stop:%Y-%m}-{hid}.pdf",
        )
    # Ofsted: one full and one interim inspection in each inspection year
    p = period_of(since, "inspection-year")
    while p.start <= as_of:
        full = _rand_day(rng, p.start + dt.timedelta(days=20), p.start + dt.timedelta(days=150))
        interim = _rand_day(rng, p.start + dt.timedelta(days=200), p.end - dt.timedelta(days=20))
        outcome = rng.choice(OUTCOMES)
        ev(hid, "ofsted-full", full, outcome=outcome, by="Ofsted")
        ev(hid, "ofsted-interim", interim, outcome="improved effectiveness", by="Ofsted")
        if full < as_of and outcome == "requires improvement":
            actions.append(
                {
                    "home": hid,
                    "title": "Update the restraint and single-separation records review",
                    "due": full + dt.timedelta(days=56),
                    "source": f"ofsted-full {full}, requirement 1",
                    "owner": "Registered manager",
                    **(
                        {"done": full + dt.timedelta(days=rng.randint(20, 50))}
                        if full + dt.timedelta(days=60) < as_of
                        else {}
                    ),
                }
            )
        p = period_of(p.end + dt.timedelta(days=1), "inspection-year")
    # education inspected with a full inspection in the last three years
    ev(
        hid,
        "ofsted-education",
        since + dt.timedelta(days=rng.randint(30, 300)),
        outcome=rng.choice(OUTCOMES),
        by="Ofsted",
    )
    # the secure accommodation approval, with the expiry printed on it
    grant = add_years(since, -1) + dt.timedelta(days=rng.randint(0, 600))
    expires = add_years(grant, 3) - dt.timedelta(days=1)
    if mix and hid == "kestrel":
        expires = as_of + dt.timedelta(days=20)
        grant = add_years(expires, -3)
    ev(hid, "licence-renewal", grant, expires=expires, by="Department for Education")
    if expires < as_of + dt.timedelta(days=200) and not (mix and hid == "kestrel"):
        g2 = expires - dt.timedelta(days=rng.randint(30, 90))
        ev(hid, "licence-renewal", g2, expires=add_years(g2, 3), by="Department for Education")
    # visit recommendations
    if n % 3 == 0:
        due = as_of + dt.timedelta(
            days=rng.choice([-4, 3, 12, 25]) if mix else rng.choice([6, 12, 25])
        )
        actions.append(
            {
                "home": hid,
                "title": "Refresh staff training on the missing-from-care protocol",
                "due": due,
                "source": "reg44-visit recommendation",
                "owner": "Deputy manager",
            }
        )


def _wales(rng: random.Random, hid: str, since: dt.date, as_of: dt.date, ev: Any) -> None:
    d = since + dt.timedelta(days=rng.randint(5, 30))
    while d < as_of:
        ev(hid, "ri-visit", d, by="Responsible individual")
        d = add_months(d, 3) - dt.timedelta(days=rng.randint(1, 20))
    d = since + dt.timedelta(days=rng.randint(10, 40))
    while d < as_of:
        ev(hid, "quality-review", d, by="Responsible individual")
        d = add_months(d, 6) - dt.timedelta(days=rng.randint(5, 30))
    d = since + dt.timedelta(days=rng.randint(40, 200))
    while d < as_of:
        ev(hid, "ciw-inspection", d, outcome="good", by="Care Inspectorate Wales")
        d = add_months(d, 12) - dt.timedelta(days=rng.randint(10, 60))


def to_toml(data: dict[str, Any], as_of: dt.date) -> str:
    import tomli_w

    header = (
        f"# Demo network: fifteen fictional secure children's homes, two years of history to {as_of}.\n"
        "# Generated by compliance.demo (python -m compliance.demo --as-of DATE --mix no); do not edit by hand.\n"
    )
    return header + tomli_w.dumps(data)


def build_demo_db(path: Path, as_of: dt.date, *, force: bool = False) -> int:
    """Write the demo network into a new database at ``path``; returns the number of homes."""
    from .errors import InvalidInput
    from .fixture import parse
    from .rules import catalogue
    from .service import Network
    from .store import open_store

    if path.exists():
        if not force:
            raise InvalidInput(
                f"{path} already exists; use --force to replace it, or --db to choose another file"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    data = build(as_of, mix=True)
    text = to_toml(data, as_of)
    fx = parse(text, "demo", catalogue=catalogue())
    net = Network.open(open_store(path, create=True))
    with net.store.transaction():
        net.store.put_network(fx.network)
        net.store.put_homes(fx.homes)
        net.store.put_actions(fx.actions)
        net.store.append_events(fx.events, origin="demo")
    net.store.close()
    return len(fx.homes)


if __name__ == "__main__":  # pragma: no cover - a maintenance tool for fixtures/demo-network.toml
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Print the demo network as a fixture file.")
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--mix", choices=["yes", "no"], default="no")
    args = ap.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    sys.stdout.write(to_toml(build(day, mix=args.mix == "yes"), day))

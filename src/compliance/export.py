"""Export the database as a fixture file: loading it into a new database gives the same dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .rules import rule_to_dict
from .store import Store


def export_data(store: Store) -> dict[str, Any]:
    data: dict[str, Any] = {"schema": 1}
    net = store.network()
    if net:
        data["network"] = {k.removeprefix("network."): v for k, v in net.items()}
    homes = []
    for h in store.homes():
        row: dict[str, Any] = {
            "id": h.id,
            "name": h.name,
            "nation": h.nation,
            "secure": h.secure,
            "yjb": h.yjb,
        }
        for k in ("since", "urn", "url", "local_authority", "sector", "places", "provision"):
            v = getattr(h, k)
            if v is not None:
                row[k] = v
        homes.append(row)
    data["homes"] = homes
    events, waivers = [], []
    done_actions: dict[str, dt.date] = {}
    for e in store.events(include_superseded=True):
        if e.rule == "action" and e.kind == "done":
            if e.target and e.target not in done_actions:
                done_actions[e.target] = e.date
            continue
        if e.kind == "waiver":
            w: dict[str, Any] = {
                "id": e.id,
                "occurrence": e.target,
                "reason": e.notes or "",
                "date": e.date,
            }
            if e.by:
                w["by"] = e.by
            waivers.append(w)
            continue
        row = {"id": e.id, "home": e.home, "rule": e.rule}
        row["date"] = dt.datetime.fromisoformat(e.at.replace("Z", "+00:00")) if e.at else e.date
        for k in ("by", "evidence", "notes", "outcome", "expires", "supersedes"):
            v = getattr(e, k)
            if v is not None:
                row[k] = v
        events.append(row)
    actions = []
    for a in store.actions():
        row = {"id": a.id, "home": a.home, "title": a.title, "due": a.due}
        for k in ("source", "owner", "created"):
            v = getattr(a, k)
            if v is not None:
                row[k] = v
        if a.id in done_actions:
            row["done"] = done_actions[a.id]
        actions.append(row)
    if events:
        data["events"] = events
    if actions:
        data["actions"] = actions
    if waivers:
        data["waivers"] = waivers
    rules = [rule_to_dict(r) for r in store.user_rules()]
    if rules:
        data["rules"] = rules
    hol = [
        {
            "nation": o.nation,
            "date": o.date,
            "name": o.name,
            **({"remove": True} if o.op == "remove" else {}),
        }
        for o in store.holiday_overrides()
    ]
    if hol:
        data["holidays"] = hol
    return data


def export_toml(store: Store) -> str:
    import tomli_w

    header = "# Exported by 'compliance export'. Load it with 'compliance load FILE'.\n"
    return header + tomli_w.dumps(export_data(store))

"""The core's front door: each shell command is "load, call one function here, render"."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import agenda, engine
from .dates import local_date, parse_date, period_from_key, to_utc
from .engine import Query, Waiver
from .errors import FixtureError, InvalidInput, NotFound
from .model import (
    Action,
    Event,
    History,
    Home,
    Occurrence,
    Rule,
    occurrence_id,
    split_occurrence_id,
)
from .rules import Catalogue, catalogue
from .status import status_at
from .store import Snapshot, Store
from .workdays import BankHolidays

if TYPE_CHECKING:
    from .fixture import Fixture


@dataclass
class Item:
    """An occurrence as listings show it."""

    occ: Occurrence
    home: Home
    rule: Rule
    as_of: dt.date

    @property
    def title(self) -> str:
        return f"{self.rule.title}: {self.occ.title}" if self.occ.title else self.rule.title

    def as_dict(self) -> dict[str, Any]:
        o = self.occ
        d: dict[str, Any] = {
            "id": o.id,
            "home": o.home,
            "home_name": self.home.name,
            "rule": o.rule,
            "title": self.title,
            "window_start": o.window_start.isoformat(),
            "due": o.due.isoformat(),
            "status": o.status,
            "days_left": o.days_left(self.as_of),
            "source": self.rule.source,
            "basis": self.rule.basis,
        }
        if not o.is_open:
            d["done_on"] = o.done_on.isoformat() if o.done_on else None
            if o.reason:
                d["reason"] = o.reason
        return d


@dataclass
class Network:
    """The store with its rules and bank holidays: what every command works on."""

    store: Store
    cat: Catalogue
    holidays: BankHolidays

    @classmethod
    def open(cls, store: Store, *, index: bool = True) -> Network:
        """The network in ``store``. With ``index`` (the default), every write transaction brings
        the pending index up to date before it commits; without it, writes leave the homes they
        touch unindexed, and reads compute those in full (still right, only slower)."""
        net = cls(
            store, catalogue(store.user_rules()), BankHolidays(tuple(store.holiday_overrides()))
        )
        if index:
            store.before_commit = _reindex_hook
        return net

    def rule(self, name: str) -> Rule:
        key = self.cat.resolve(name)
        if key is None:
            raise InvalidInput(f"unknown rule {name!r}{self.cat.suggest(name)}")
        return self.cat.rules[key]

    def filters(
        self, homes: Sequence[str] | None, rules: Sequence[str] | None = None
    ) -> list[str] | None:
        """Check the --home and --rule filters of a listing (an unknown one is an error that
        names it); returns the rules' keys (aliases resolved), or None for every rule."""
        for h in homes or ():
            self.store.home(h)
        return [self.rule(r).key for r in rules] if rules else None


def effective_since(home: Home, snap_first: dict[str, dt.date]) -> dt.date | None:
    return home.since or snap_first.get(home.id)


def computed(
    net: Network,
    snap: Snapshot,
    q: Query,
    *,
    rules: Sequence[str] | None = None,
    histories: dict[tuple[str, str], History] | None = None,
) -> Iterator[tuple[Home, Rule, list[Occurrence]]]:
    """The engine's occurrences for each home of the snapshot and each rule that applies to it
    (of ``rules``, if given), unsorted: open ones due by ``q.until``, or with ``q.closed`` or
    ``q.explain`` every one."""
    wanted = set(rules) if rules else None
    histories = histories if histories is not None else snap.histories
    # Compute as the log stood at the end of as_of: later events and waivers are not yet known.
    day = q.as_of.isoformat()
    waivers = {k: w for k, w in snap.waivers.items() if w.date <= q.as_of}
    action_done = {k: d for k, d in snap.action_done.items() if d <= q.as_of}
    empty = engine.EMPTY
    everything = q.closed or q.explain
    for home in snap.homes:
        since = effective_since(home, snap.first_event)
        for rule in net.cat.for_home(home):
            if wanted is not None and rule.key not in wanted:
                continue
            if since is None and rule.cadence.kind != "action":
                continue  # no start date and no event yet: only actions are owed (their dates)
            hist = histories.get((home.id, rule.key), empty).upto(day)
            trigger = None
            if rule.cadence.kind == "after" and rule.cadence.after:
                trigger = histories.get((home.id, rule.cadence.after), empty).upto(day)
            occs = engine.compute(
                home,
                rule,
                hist,
                q,
                since=since or q.as_of,  # (actions do not use it)
                waivers=waivers,
                trigger=trigger,
                actions=snap.actions.get(home.id, ()),
                action_done=action_done,
            )
            yield home, rule, occs if everything else [o for o in occs if o.due <= q.until]


def occurrences(
    net: Network,
    snap: Snapshot,
    q: Query,
    *,
    rules: Sequence[str] | None = None,
    histories: dict[tuple[str, str], History] | None = None,
) -> list[Item]:
    """Every occurrence (open only unless ``q.closed``) for the snapshot's homes, most urgent
    first (see :func:`computed`)."""
    items = [
        Item(o, home, rule, q.as_of)
        for home, rule, occs in computed(net, snap, q, rules=rules, histories=histories)
        for o in occs
    ]
    items.sort(key=lambda it: engine.sort_key(it.occ))
    return items


def due(
    net: Network,
    as_of: dt.date,
    days: int,
    *,
    homes: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    statuses: Iterable[str] | None = None,
    use_index: bool = True,
) -> list[Item]:
    """Open occurrences due on or before ``as_of + days`` (overdue ones included), most urgent first.

    The homes the agenda vouches for are read from it; the others are computed by the engine.
    ``use_index=False`` computes every home (the same answer, slower: tests and benchmarks
    compare the two)."""
    if days < 0:
        raise InvalidInput("--days must be 0 or more")
    keys = net.filters(homes, rules)
    until = as_of + dt.timedelta(days=days)
    q = Query(as_of, until, holidays=net.holidays)
    conn = net.store.conn
    if use_index and agenda.is_current(conn):
        full = agenda.unvouched(conn, as_of, until, homes)
        items = (
            occurrences(net, net.store.snapshot(full, as_of=as_of), q, rules=keys) if full else []
        )
        items += agenda_items(net, agenda.rows(conn, as_of, until, homes, keys), as_of)
        items.sort(key=lambda it: engine.sort_key(it.occ))
    else:
        items = occurrences(net, net.store.snapshot(homes or None, as_of=as_of), q, rules=keys)
    wanted = set(statuses) if statuses else None
    return [
        it for it in items if it.occ.due <= until and (wanted is None or it.occ.status in wanted)
    ]


def agenda_items(net: Network, rows: list[agenda.Row], as_of: dt.date) -> list[Item]:
    """The agenda's rows as listing items, their status as of ``as_of``."""
    homes = {h.id: h for h in net.store.homes({r[0] for r in rows})} if rows else {}
    day = as_of.isoformat()
    d = dt.date.fromisoformat
    return [
        Item(
            Occurrence(
                f"{home}/{rule}/{period}",
                home,
                rule,
                period,
                d(start),
                d(due),
                status_at(due, frm, day),
                title=title,
                due_from=d(frm),
            ),
            homes[home],
            net.cat.rules[rule],
            as_of,
        )
        for home, rule, period, start, due, frm, title in rows
    ]


# -- keeping the agenda (see compliance.agenda) ---------------------------------------------------


_iso = lru_cache(maxsize=65536)(dt.date.isoformat)  # homes share their periods' dates


def _agenda_row(o: Occurrence) -> agenda.Row:
    assert o.due_from is not None  # the engine sets it on every open occurrence
    return (o.home, o.rule, o.period, _iso(o.window_start), _iso(o.due), _iso(o.due_from), o.title)


def index_fingerprint(net: Network) -> str:
    """Identifies the code, rule packs, user rules and bank holiday overrides of the database."""
    return agenda.fingerprint(net.store.conn)


def update_index(net: Network) -> int:
    """Bring the agenda up to date now, in a transaction of its own (after an upgrade, an
    import or a bulk load). Returns the homes indexed."""
    with net.store.transaction():
        return reindex(net)


def reindex(net: Network, *, chunk: int = 500) -> int:
    """Bring the agenda up to date: every home when the rules, holidays or code changed, else
    the homes written since. Call inside a write transaction. Returns the homes indexed."""
    return _reindex_hook(net.store, chunk=chunk)


def _reindex_hook(store: Store, *, chunk: int = 500) -> int:
    """:func:`reindex` of a store. The rules and bank holidays are read from the database as it
    stands in this transaction (a rule file loaded in it included), not taken from a network
    opened before the write.

    The agenda reaches INDEX_DAYS past today and past each home's latest record, whichever is
    later, so that it keeps answering for homes with nothing recorded for years. That reach
    is the only thing the clock decides here: it sets how long the agenda can answer without a
    write, never what it says (see compliance.agenda)."""
    from .clock import today

    fresh = Network(
        store, catalogue(store.user_rules()), BankHolidays(tuple(store.holiday_overrides()))
    )
    fingerprint = agenda.fingerprint(store.conn)
    everything = store.index_fingerprint() != fingerprint
    ids = [h.id for h in store.homes()] if everything else store.unindexed_homes()
    aliases: dict[str, list[str]] = {}
    for name, key in sorted(fresh.cat.aliases.items()):
        aliases.setdefault(key, []).append(name)
    rule_rows = [
        (
            r.key,
            r.title,
            r.source,
            r.basis,
            json.dumps(aliases.get(r.key, [])),
            *agenda.rule_fragments(r.title, r.source, r.basis),
        )
        for r in fresh.cat.rules.values()
    ]
    if not ids:
        if everything:
            store.write_index(fingerprint, (), (), rule_rows, everything=True)
        return 0
    horizons = store.horizons(ids)
    for i in range(0, len(ids), chunk):  # written chunk by chunk: a national agenda is large
        snap = store.snapshot(ids[i : i + chunk])
        starts = {h.id: effective_since(h, snap.first_event) for h in snap.homes}
        dates = [dt.date.fromisoformat(horizons[h.id]) for h in snap.homes if h.id in horizons]
        dates += [d for d in starts.values() if d is not None]
        # One date for the chunk, on or after every home's latest event (see compliance.agenda):
        # the open occurrences due by ``until`` are the same for every later as-of.
        as_of = max([*dates, today()])
        until = as_of + dt.timedelta(days=agenda.INDEX_DAYS)
        q = Query(as_of, until, holidays=fresh.holidays)
        rows = [_agenda_row(o) for _, _, occs in computed(fresh, snap, q) for o in occs]
        rows.sort(key=lambda r: (r[4], r[0], r[1], r[2]))  # the table's key order: fast inserts
        home_rows = []
        for h in snap.homes:
            since = starts[h.id]
            start = since.isoformat() if since else None
            home_rows.append((h.id, horizons.get(h.id, ""), start, until.isoformat()))
        store.write_index(fingerprint, home_rows, rows, rule_rows, everything=everything and i == 0)
    store.finish_index()
    return len(ids)


def full_histories(store: Store, home: str) -> dict[tuple[str, str], History]:
    """Histories with every event in full, for explanations and history views."""
    by_rule: dict[str, list[Event]] = {}
    for e in store.events(home):
        if e.kind == "done" and e.rule != "action":
            by_rule.setdefault(e.rule, []).append(e)
    return {(home, r): History.of(evs) for r, evs in by_rule.items()}


def home_occurrences(
    net: Network, home_id: str, as_of: dt.date, until: dt.date, *, explain: bool = False
) -> list[Item]:
    """Every occurrence of one home, closed ones included (history, calendar, feeds)."""
    snap = net.store.snapshot([home_id], open_actions_only=False)
    if not snap.homes:
        net.store.home(home_id)
    q = Query(as_of, until, explain=explain, closed=True, holidays=net.holidays)
    return occurrences(net, snap, q, histories=full_histories(net.store, home_id))


@dataclass
class Explanation:
    item: Item
    events: list[Event]
    since: dt.date | None  # None: no start date and no event yet (an action's explanation)
    since_from: str


def why(net: Network, oid: str, as_of: dt.date) -> Explanation:
    """Explain one occurrence: rule, source, basis, events considered, steps and status."""
    try:
        home_id, rule_name, period = split_occurrence_id(oid)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    home = net.store.home(home_id)
    rule = net.rule(rule_name)
    if not rule.applies_to(home):
        raise NotFound(
            f"rule {rule.key!r} does not apply to {home.id} ({home.nation}, {'secure' if home.secure else 'not secure'}{', YJB places' if home.yjb else ''})"
        )
    oid = occurrence_id(home.id, rule.key, period)
    until = max(as_of, _period_end_guess(rule, period, as_of))
    snap = net.store.snapshot([home.id], open_actions_only=False)
    q = Query(as_of, until, explain=True, closed=True, holidays=net.holidays)
    hists = full_histories(net.store, home.id)
    items = occurrences(net, snap, q, rules=[rule.key], histories=hists)
    match = [it for it in items if it.occ.id == oid]
    if not match:
        raise NotFound(
            f"no occurrence {oid!r} as of {as_of}; 'compliance history {home.id} --rule {rule.key}' lists them"
        )
    since = effective_since(home, snap.first_event)
    evs = [
        e
        for e in net.store.events(home.id)
        if e.rule in (rule.key, rule.cadence.after)
        or e.target == oid
        or (rule.key == "action" and e.target == period)
    ]
    return Explanation(
        match[0],
        evs,
        since,
        "the home's 'since' date"
        if home.since
        else "the home's first recorded event"
        if since
        else "nothing recorded yet; actions are owed from their own dates",
    )


def explanation_dict(ex: Explanation, as_of: dt.date) -> dict[str, Any]:
    """The explanation as data (``compliance why --format json``)."""
    it, r = ex.item, ex.item.rule
    return {
        "as_of": as_of.isoformat(),
        "item": it.as_dict(),
        "rule": {
            "key": r.key,
            "title": r.title,
            "cadence": r.cadence.describe(),
            "source": r.source,
            "basis": r.basis,
            "url": r.url,
            "note": r.note,
            "origin": r.origin,
        },
        "since": ex.since.isoformat() if ex.since else None,
        "since_from": ex.since_from,
        "events": [
            {
                "id": e.id,
                "rule": e.rule,
                "kind": e.kind,
                "date": e.date.isoformat(),
                "at": e.at,
                "by": e.by,
                "notes": e.notes,
                "supersedes": e.supersedes,
            }
            for e in ex.events
        ],
        "steps": list(it.occ.steps),
    }


def explanation_lines(ex: Explanation, paint: Callable[[str], str] = str) -> list[str]:
    """The explanation as text lines (``compliance why``, the TUI's why panel, feed descriptions).

    ``paint`` decorates the status word (the CLI colours it; others leave it plain).
    """
    r, o, h = ex.item.rule, ex.item.occ, ex.item.home
    traits = f"{h.nation}{', secure' if h.secure else ''}{', YJB places' if h.yjb else ''}"
    lines = [
        o.id,
        f"  Home:     {h.name} ({h.id}, {traits})",
        f"  Rule:     {r.key}: {r.title}",
        f"  Cadence:  {r.cadence.describe()}",
        f"  Source:   {r.source}",
        f"  Basis:    {r.basis}"
        + (f"  ({r.origin})" if not r.origin.startswith("built-in") else ""),
    ]
    if r.note:
        lines.append(f"  Note:     {r.note}")
    lines.append(
        f"  Tracking: since {ex.since} ({ex.since_from})"
        if ex.since
        else f"  Tracking: {ex.since_from}"
    )
    lines.append("  Events considered:")
    for e in ex.events:
        extra = ", ".join(
            x
            for x in (
                e.kind if e.kind != "done" else "",
                f"by {e.by}" if e.by else "",
                f"at {e.at}" if e.at else "",
                f"supersedes {e.supersedes}" if e.supersedes else "",
            )
            if x
        )
        lines.append(f"    {e.date}  {e.rule}  {e.id}" + (f"  ({extra})" if extra else ""))
    if not ex.events:
        lines.append("    none")
    lines.append("  Steps:")
    lines += [f"    {n}. {s}" for n, s in enumerate(o.steps, start=1)]
    lines.append(
        f"  Result:   window {o.window_start} to {o.due}, due {o.due}, {paint(o.status)}"
        + (f" (done {o.done_on})" if o.done_on and not o.is_open else "")
    )
    return lines


def _period_end_guess(rule: Rule, period: str, as_of: dt.date) -> dt.date:
    c = rule.cadence
    try:
        if c.kind == "period" and c.period:
            return period_from_key(c.period, period).end
        if c.kind in ("gap", "expiry", "after"):
            return parse_date(period) + dt.timedelta(days=400)
    except ValueError:
        raise InvalidInput(f"{period!r} is not a period of {rule.key}") from None
    return as_of + dt.timedelta(days=3660)


# -- writes -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    files: list[str]
    homes_added: int = 0
    homes_updated: int = 0
    events_added: int = 0
    actions_added: int = 0
    actions_updated: int = 0
    rules_changed: int = 0
    holidays: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.homes_added,
                self.homes_updated,
                self.events_added,
                self.actions_added,
                self.actions_updated,
                self.rules_changed,
                self.holidays,
            )
        )


def parse_fixtures(paths: Sequence[Path], cat: Catalogue, known: dict[str, Home]) -> Fixture:
    """Parse several files (and the files they include) as one set: each file knows the homes
    and rules of all the others, so the order they are named in does not matter (as in check)."""
    from .fixture import merge, parse_set, read_tree

    return merge(parse_set(read_tree(paths), catalogue=cat, known_homes=known))


def load(net: Network, paths: Sequence[Path]) -> LoadResult:
    """Load fixture files: validated first, then written in one transaction (all or nothing)."""
    known = {h.id: h for h in net.store.homes()}
    fx = parse_fixtures(paths, net.cat, known)
    superseded = {e.supersedes for e in fx.events if e.supersedes}
    in_file = {e.id for e in fx.events}
    for sid in superseded:
        if (
            sid not in in_file
            and not net.store.conn.execute("SELECT 1 FROM events WHERE id = ?", (sid,)).fetchone()
        ):
            rec = next(f"event:{e.id}" for e in fx.events if e.supersedes == sid)
            raise fx.error_at(rec, "supersedes", f"no event {sid!r} to supersede")
    _same_as_recorded(net, fx)
    res = LoadResult(list(fx.files))
    with net.store.transaction():
        if fx.network:
            net.store.put_network(fx.network)
        res.homes_added, res.homes_updated = net.store.put_homes(fx.homes)
        res.rules_changed = net.store.put_rules(fx.rules)
        res.holidays = net.store.put_holidays(fx.holidays)
        res.actions_added, res.actions_updated = net.store.put_actions(fx.actions)
        # events that supersede others go after them
        ordered = sorted(fx.events, key=lambda e: e.supersedes is not None)
        res.events_added = len(net.store.append_events(ordered, origin=",".join(fx.files)))
        _waivers_name_occurrences(net, fx)  # inside: a problem rolls the whole load back
    return res


_EVENT_FIELDS = (
    "home", "rule", "kind", "date", "at", "by", "evidence", "notes", "outcome", "expires",
    "target", "supersedes",
)  # fmt: skip


def _same_as_recorded(net: Network, fx: Fixture) -> None:
    """An event id already in the log must name the same event: the log is append-only, so a
    changed record (a corrected date, say) is refused, not silently skipped, and the way to
    correct it is said."""
    by_id = {e.id: e for e in fx.events}
    ids = list(by_id)
    for i in range(0, len(ids), 5000):
        chunk = json.dumps(ids[i : i + 5000])
        for row in net.store.conn.execute(
            f"SELECT id, {', '.join(_EVENT_FIELDS)} FROM events "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (chunk,),
        ):
            e = by_id[row[0]]
            mine = [getattr(e, f) for f in _EVENT_FIELDS]
            mine = [v.isoformat() if isinstance(v, dt.date) else v for v in mine]
            changed = [
                (f, old)
                for f, new, old in zip(_EVENT_FIELDS, mine, row[1:], strict=True)
                if new != old
            ]
            if changed:
                field_name, old = changed[0]
                raise fx.error_at(
                    f"event:{e.id}",
                    "id",
                    f"event {e.id!r} is already recorded with another {field_name} ({old!r}); "
                    f"the log is append-only: add an event with supersedes = {e.id!r} to correct it",
                )


def _waivers_name_occurrences(net: Network, fx: Fixture) -> None:
    store = net.store  # the rules and bank holidays as this load leaves them
    fresh = Network(
        store, catalogue(store.user_rules()), BankHolidays(tuple(store.holiday_overrides()))
    )
    problems = waiver_problems(fresh, fx)
    if problems:
        raise problems[0]


class Waived(Protocol):
    """Records whose waivers are checked: a parsed fixture, or a ledger of one (check)."""

    def waivers(self) -> Iterable[Event]: ...

    def latest_date(self) -> dt.date: ...

    def error_at(self, record: str, key: str | None, message: str) -> FixtureError: ...


def waiver_problems(net: Network, records: Waived) -> list[FixtureError]:
    """Each waiver of the files must close an occurrence that exists, as 'compliance waive'
    requires (not a month 13, a rule the home does not have, a due date off by a day): the
    problems, at each waiver's line. ``net`` holds the files' records."""
    out = []
    latest = records.latest_date()
    for e in records.waivers():
        assert e.target is not None
        try:
            why(net, e.target, max(e.date, latest))
        except (InvalidInput, NotFound) as exc:
            out.append(records.error_at(f"event:{e.id}", "occurrence", exc.message))
    return out


def record(
    net: Network,
    home_id: str,
    rule_name: str,
    *,
    when: dt.date | dt.datetime,
    as_of: dt.date,
    by: str | None = None,
    evidence: str | None = None,
    notes: str | None = None,
    outcome: str | None = None,
    expires: dt.date | None = None,
    supersedes: str | None = None,
) -> tuple[Event, bool]:
    """Append one event; returns it and whether it was new (recording the same thing twice adds nothing)."""
    from .fixture import event_id

    home = net.store.home(home_id)
    rule = net.rule(rule_name)
    if rule.key == "action":
        raise InvalidInput("close an action with 'compliance action done ID'")
    if not rule.applies_to(home):
        raise InvalidInput(
            f"rule {rule.key!r} does not apply to {home.id} ({rule.applies_text()} only)"
        )
    day = local_date(when)
    at = to_utc(when).isoformat().replace("+00:00", "Z") if isinstance(when, dt.datetime) else None
    if day > as_of:
        raise InvalidInput(
            f"{day} is after today ({as_of}): record what has happened, not what is planned"
        )
    if expires is not None:
        if rule.cadence.kind != "expiry":
            raise InvalidInput(f"--expires is for approvals; {rule.key!r} is not one")
        if expires <= day:
            raise InvalidInput(
                f"the approval cannot expire ({expires}) on or before it was granted ({day})"
            )
    if supersedes is not None:
        old = net.store.event(supersedes)
        if old.home != home.id:
            raise InvalidInput(f"event {supersedes} belongs to {old.home}, not {home.id}")
    eid = (
        event_id(home.id, rule.key, "done", day, at, by, evidence, notes, outcome, expires)
        if supersedes is None
        else event_id(
            home.id, rule.key, "done", day, at, by, evidence, notes, outcome, expires, supersedes
        )
    )
    ev = Event(
        eid,
        home.id,
        rule.key,
        day,
        at=at,
        by=by,
        evidence=evidence,
        notes=notes,
        outcome=outcome,
        expires=expires,
        supersedes=supersedes,
    )
    with net.store.transaction():
        added = net.store.append_events([ev], origin="cli")
    return ev, bool(added)


def waive(net: Network, oid: str, reason: str, as_of: dt.date, by: str | None = None) -> Event:
    """Close an occurrence without an event, with a reason (the breach stays on record as waived)."""
    from .fixture import event_id

    if not reason.strip():
        raise InvalidInput("a waiver needs a reason (--reason)")
    expl = why(net, oid, as_of)
    o = expl.item.occ
    if not o.is_open:
        raise InvalidInput(f"{o.id} is already {o.status}; nothing to waive")
    eid = event_id(o.home, o.rule, "waiver", as_of, o.id, reason, by)
    ev = Event(eid, o.home, o.rule, as_of, kind="waiver", target=o.id, notes=reason.strip(), by=by)
    with net.store.transaction():
        net.store.append_events([ev], origin="cli")
    return ev


def add_action(
    net: Network,
    home_id: str,
    title: str,
    due_on: dt.date,
    *,
    as_of: dt.date,
    source: str | None = None,
    owner: str | None = None,
) -> Action:
    from .fixture import action_id

    home = net.store.home(home_id)
    if not title.strip():
        raise InvalidInput("an action needs a title")
    a = Action(
        action_id(home.id, title.strip(), due_on),
        home.id,
        title.strip(),
        due_on,
        source,
        owner,
        as_of,
    )
    with net.store.transaction():
        added, _ = net.store.put_actions([a])
    if not added:
        raise InvalidInput(f"the same action already exists ({a.id})")
    return a


def close_action(
    net: Network,
    aid: str,
    on: dt.date,
    as_of: dt.date,
    by: str | None = None,
    notes: str | None = None,
) -> Event:
    from .fixture import event_id

    a = net.store.action(aid)
    if on > as_of:
        raise InvalidInput(f"{on} is after today ({as_of})")
    done = [e for e in net.store.events(a.home, "action") if e.target == a.id]
    if done:
        raise InvalidInput(f"action {a.id} was already closed on {done[0].date}")
    ev = Event(
        event_id(a.home, "action", "done", on, a.id, by, notes),
        a.home,
        "action",
        on,
        target=a.id,
        by=by,
        notes=notes,
    )
    with net.store.transaction():
        net.store.append_events([ev], origin="cli")
    return ev


def init_network(net: Network, name: str | None) -> None:
    """Name the network, and bring the pending index up to date (on an existing database after
    an upgrade; the first write would otherwise do it)."""
    if name:
        with net.store.transaction():
            net.store.put_network({"name": name})
    update_index(net)


def parse_when(date_text: str | None, at_text: str | None, as_of: dt.date) -> dt.date | dt.datetime:
    from .dates import parse_datetime

    if date_text and at_text:
        raise InvalidInput("give --date or --at, not both")
    try:
        if at_text:
            return parse_datetime(at_text)
        if date_text:
            return parse_date(date_text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return as_of


def waivers_of(snap: Snapshot) -> dict[str, Waiver]:
    return snap.waivers


@dataclass
class ActionItem:
    occ: Occurrence
    home: Home
    owner: str | None
    source: str | None


def action_items(
    net: Network,
    as_of: dt.date,
    *,
    homes: Sequence[str] | None = None,
    include_closed: bool = False,
) -> list[ActionItem]:
    """Actions with their state (open ones unless ``include_closed``), soonest first."""
    net.filters(homes)
    snap = net.store.snapshot(
        homes or None, open_actions_only=not include_closed, as_of=as_of, histories=False
    )
    return actions_in(net, snap, as_of, include_closed=include_closed)


def actions_in(
    net: Network, snap: Snapshot, as_of: dt.date, *, include_closed: bool = False
) -> list[ActionItem]:
    """The actions of a snapshot with their state, soonest first (see :func:`action_items`)."""
    rule = net.cat.rules["action"]
    q = Query(as_of, as_of, closed=include_closed, holidays=net.holidays)
    by_id = {a.id: a for lst in snap.actions.values() for a in lst}
    out: list[ActionItem] = []
    for home in snap.homes:
        for o in engine.compute(
            home,
            rule,
            engine.EMPTY,
            q,
            since=as_of,
            waivers=snap.waivers,
            actions=snap.actions.get(home.id, ()),
            action_done=snap.action_done,
        ):
            a = by_id[o.period]
            out.append(ActionItem(o, home, a.owner, a.source))
    out.sort(key=lambda it: engine.sort_key(it.occ))
    return out

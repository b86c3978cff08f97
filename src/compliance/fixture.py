"""The network fixture format (TOML, ``schema = 1``): parse and validate, naming file, line and field.

A fixture may hold a network, homes, events, actions, waivers, user rules and bank-holiday
overrides. Parsing never writes anything; the store loads a parsed fixture in one transaction.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .dates import check_wall_clock, local_date, to_utc
from .errors import FixtureError
from .located import Document, Locator, Memory, load_path, load_text
from .model import NATIONS, Action, Event, Home, Rule
from .rules import Catalogue, parse_rules
from .workdays import HolidayOverride

HOME_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TOP_KEYS = {
    "schema",
    "network",
    "homes",
    "events",
    "actions",
    "waivers",
    "rules",
    "holidays",
    "include",
}
NETWORK_KEYS = {"name", "url"}
HOME_KEYS = {
    "id",
    "name",
    "nation",
    "secure",
    "yjb",
    "since",
    "urn",
    "url",
    "local_authority",
    "sector",
    "places",
    "provision",
}
EVENT_KEYS = {
    "id",
    "home",
    "rule",
    "date",
    "by",
    "evidence",
    "notes",
    "outcome",
    "expires",
    "supersedes",
}
ACTION_KEYS = {"id", "home", "title", "due", "done", "source", "owner", "created"}
WAIVER_KEYS = {"id", "home", "rule", "period", "occurrence", "reason", "date", "by"}
HOLIDAY_KEYS = {"nation", "date", "name", "remove"}
# the tables a network has thousands of entries in: read a part of the file at a time
BULK = ("events", "actions", "waivers")


class Records(Protocol):
    """Where a parse keeps the events and actions it has validated: a :class:`Fixture` in memory
    (``load``), or a database on disk (``check``: a national network's are too many to hold)."""

    def keep(
        self, loc: Locator, table: str, index: int, record: Event | Action, unique: bool
    ) -> int | None:
        """Keep entry ``index`` of ``table``. With ``unique``, its id must be new in this file's
        table: if it is not, the index of the entry that has it is returned, and nothing kept."""

    def keep_completion(self, e: Event) -> None:
        """Keep an action's completion (it has no entry of its own: it is the action's ``done``)."""


@dataclass
class Fixture:
    """A parsed and validated fixture (or several merged)."""

    files: list[str] = field(default_factory=list)
    network: dict[str, str] = field(default_factory=dict)
    homes: list[Home] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    holidays: list[HolidayOverride] = field(default_factory=list)
    # where each record was written, for problems found after parsing:
    # record ("home:ID", "event:ID", "action:ID") -> (file, table, index)
    entries: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    locators: dict[str, Locator] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # homes whose entry had a problem (check)
    _ids: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict, repr=False)

    def keep(
        self, loc: Locator, table: str, index: int, record: Event | Action, unique: bool
    ) -> int | None:
        if unique:
            seen = self._ids.setdefault((loc.name, table), {})
            if record.id in seen:
                return seen[record.id]
            seen[record.id] = index
        if isinstance(record, Action):
            self.actions.append(record)
            self.entries[f"action:{record.id}"] = (loc.name, table, index)
        else:
            self.events.append(record)
            self.entries[f"event:{record.id}"] = (loc.name, table, index)
        return None

    def keep_completion(self, e: Event) -> None:
        self.events.append(e)

    def waivers(self) -> Iterator[Event]:
        return (e for e in self.events if e.kind == "waiver" and e.target)

    def latest_date(self) -> dt.date:
        return max((e.date for e in self.events), default=dt.date.min)

    def error_at(self, record: str, key: str | None, message: str) -> FixtureError:
        """A problem found after parsing (across files), at the line of ``record``'s ``key``."""
        file, table, index = self.entries[record]
        return self.locators[file].error(table, index, key, message)

    def line_of(self, record: str, key: str | None = None) -> tuple[str, int]:
        file, table, index = self.entries[record]
        return file, self.locators[file].line(table, index, key)


def event_id(*parts: object) -> str:
    """A deterministic id from an event's content: loading the same file twice adds nothing."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return "e-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def action_id(home: str, title: str, due: dt.date) -> str:
    return "a-" + hashlib.sha256(f"{home}\x1f{title}\x1f{due}".encode()).hexdigest()[:10]


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Skip(Exception):
    """An entry that refers to a home whose own entry has a problem (already reported)."""


class _Parser:
    def __init__(
        self,
        loc: Locator,
        data: dict[str, Any],
        cat: Catalogue,
        homes: dict[str, Home],
        sink: Records,
        problems: list[FixtureError] | None = None,
        as_of: dt.date | None = None,
    ) -> None:
        self.loc = loc
        self.data = data
        self.sink = sink
        self.cat = cat
        self.homes = homes  # known homes: the store's and this file's
        # collecting (compliance check): each entry's first problem is recorded, the entry skipped
        self.problems = problems
        self.as_of = as_of  # when given, events after it are errors (they have not happened yet)
        self.broken: set[str] = set()  # homes whose entry had a problem
        self.current_home: str | None = None

    def err(self, table: str, index: int, key: str | None, msg: str) -> FixtureError:
        return self.loc.error(table, index, key, msg)

    @contextmanager
    def entry(self) -> Iterator[None]:
        """One table entry: a problem is raised, or, when collecting, recorded and the entry skipped."""
        self.current_home = None
        try:
            yield
        except _Skip:
            if self.problems is None:
                raise
        except FixtureError as exc:
            if self.problems is None:
                raise
            self.problems.append(exc)
            if self.current_home is not None:
                self.broken.add(self.current_home)

    def entries(self, table: str, data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raw = (self.data if data is None else data).get(table, [])
        if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
            exc = self.err(table, 0, None, f"must be an array of tables ([[{table}]])")
            if self.problems is None:
                raise exc
            self.problems.append(exc)
            return []
        return raw

    def not_after_as_of(self, table: str, i: int, key: str, day: dt.date, what: str) -> None:
        if self.as_of is not None and day > self.as_of:
            raise self.err(
                table,
                i,
                key,
                f"{what} {day} is after the as-of date {self.as_of}: record what has happened, not what is planned",
            )

    def check_keys(self, table: str, i: int, raw: dict[str, Any], allowed: set[str]) -> None:
        for k in raw:
            if k not in allowed:
                raise self.err(table, i, k, f"unknown key{_suggest(k, allowed)}")

    def string(
        self, table: str, i: int, raw: dict[str, Any], key: str, required: bool = False
    ) -> str | None:
        v = raw.get(key)
        if v is None:
            if required:
                raise self.err(table, i, None, f"missing required key {key!r}")
            return None
        if not isinstance(v, str) or (required and not v.strip()):
            raise self.err(
                table, i, key, "must be a non-empty string" if required else "must be a string"
            )
        return v

    def date(
        self, table: str, i: int, raw: dict[str, Any], key: str, required: bool = False
    ) -> dt.date | None:
        v = raw.get(key)
        if v is None:
            if required:
                raise self.err(table, i, None, f"missing required key {key!r}")
            return None
        if isinstance(v, dt.datetime):
            raise self.err(table, i, key, "must be a date (YYYY-MM-DD), not a date-time")
        if isinstance(v, dt.date):
            return v
        # a quoted "2026-01-01" is text to TOML: refused, as for events' dates
        raise self.err(table, i, key, f"{v!r} is not a date (write it as YYYY-MM-DD, unquoted)")

    def home_ref(self, table: str, i: int, raw: dict[str, Any]) -> str:
        h = self.string(table, i, raw, "home", required=True)
        assert h is not None
        if h not in self.homes:
            if h in self.broken:
                raise _Skip(h)
            raise self.err(table, i, "home", f"unknown home {h!r}{_suggest(h, self.homes)}")
        return h

    def rule_ref(self, table: str, i: int, raw: dict[str, Any]) -> str:
        r = self.string(table, i, raw, "rule", required=True)
        assert r is not None
        key = self.cat.resolve(r)
        if key is None:
            raise self.err(table, i, "rule", f"unknown rule {r!r}{self.cat.suggest(r)}")
        return key


def parse(
    text: str,
    name: str,
    *,
    catalogue: Catalogue,
    known_homes: dict[str, Home] | None = None,
) -> Fixture:
    """Parse fixture text (an ``include`` key needs a file: see :func:`parse_file`)."""
    data, loc = load_text(text, name)
    return _parse(data, loc, catalogue, known_homes or {}, parts=[data])


def parse_file(
    path: Path,
    *,
    catalogue: Catalogue,
    known_homes: dict[str, Home] | None = None,
    as_of: dt.date | None = None,
) -> Fixture:
    """Parse a file with the files it includes (each knows the homes and rules of all)."""
    sources = read_tree([path])
    return merge(parse_set(sources, catalogue=catalogue, known_homes=known_homes, as_of=as_of))


@dataclass
class Source:
    """A fixture file read (TOML parsed, lines located) but not yet validated."""

    path: Path
    doc: Document

    @property
    def loc(self) -> Locator:
        return self.doc.loc


def read_tree(paths: Iterable[Path], problems: list[FixtureError] | None = None) -> list[Source]:
    """Read files, each once, and before each the files it ``include``s; a cycle is an error.

    With ``problems``, unreadable files and bad includes are recorded there instead of raised."""
    order: list[Source] = []
    seen: set[Path] = set()
    memory = Memory()  # one budget for the set (a network split into many files)

    def fail(exc: FixtureError) -> None:
        if problems is None:
            raise exc
        problems.append(exc)

    def visit(path: Path, stack: tuple[Path, ...]) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        try:
            doc = load_path(path, BULK, memory)
        except FixtureError as exc:
            fail(exc)
            return
        incs: list[Path] = []
        try:
            incs = include_paths(doc.head, doc.loc, path)
        except FixtureError as exc:
            fail(exc)
        here = (*stack, key)
        for inc in incs:
            if inc.resolve() in here:
                fail(include_cycle(doc.loc, here, inc.resolve()))
            else:
                visit(inc, here)
        order.append(Source(path, doc))

    for p in paths:
        visit(p, ())
    return order


def parse_set(
    sources: Iterable[Source],
    *,
    catalogue: Catalogue,
    known_homes: dict[str, Home] | None = None,
    as_of: dt.date | None = None,
    problems: list[FixtureError] | None = None,
    sink: Records | None = None,
) -> list[Fixture]:
    """Parse files that form one set. Each knows the homes and rules of all of them, so neither
    their order nor how the records are split between files changes the result. The events and
    actions go to ``sink`` if given, else to each file's Fixture."""
    sources = list(sources)
    cat = Catalogue(dict(catalogue.rules), dict(catalogue.aliases))
    homes = dict(known_homes or {})
    mine: set[str] = set()
    broken: set[str] = set()
    for s in sources:  # first the homes and rules; their problems are found again below
        for table in ("rules", "homes"):
            if table not in s.doc.head:
                continue
            try:
                head = {"schema": s.doc.head.get("schema"), table: s.doc.head[table]}
                fx = _parse(head, s.loc, cat, {}, problems=[])
            except FixtureError:
                continue
            for r in fx.rules:
                cat.add(r)
            for h in fx.homes:
                if h.id not in mine:
                    homes[h.id] = h
                    mine.add(h.id)
            broken |= fx.broken
    broken -= homes.keys()
    parts: list[Fixture] = []
    for s in sources:
        try:
            parts.append(
                _parse(
                    s.doc.head,
                    s.loc,
                    cat,
                    homes,
                    as_of=as_of,
                    problems=problems,
                    broken=broken,
                    parts=s.doc.parts(),
                    sink=sink,
                )
            )
        except FixtureError as exc:
            if problems is None:
                raise
            problems.append(exc)
    return parts


def include_paths(data: dict[str, Any], loc: Locator, path: Path) -> list[Path]:
    """The files named by ``include = [...]``, relative to the including file."""
    raw = data.get("include", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise loc.error("", 0, "include", 'must be a list of file paths, e.g. ["homes.toml"]')
    out = []
    for name in raw:
        inc = Path(os.path.normpath(path.parent / name))
        if not inc.is_file():
            raise loc.error(
                "", 0, "include", f"{name!r}: no such file ({inc}; paths are relative to this file)"
            )
        out.append(inc)
    return out


def include_cycle(loc: Locator, stack: tuple[Path, ...], target: Path) -> FixtureError:
    """The error for a file that includes itself, directly or through others."""
    chain = [*stack[stack.index(target) :], target]
    return loc.error(
        "", 0, "include", "include cycle: " + " -> ".join(p.name for p in chain) + " (remove one)"
    )


def _parse(
    data: dict[str, Any],
    loc: Locator,
    catalogue: Catalogue,
    known: dict[str, Home],
    *,
    as_of: dt.date | None = None,
    problems: list[FixtureError] | None = None,
    broken: Iterable[str] = (),
    parts: Iterable[dict[str, Any]] = (),
    sink: Records | None = None,
) -> Fixture:
    """Validate one file: ``data`` has its top-level keys; the entries of the BULK tables come
    in ``parts`` (a large file's, a part at a time)."""
    for k in data:
        if k not in TOP_KEYS:
            exc = loc.error("", 0, k, f"unknown key{_suggest(k, TOP_KEYS)}")
            if problems is None:
                raise exc
            problems.append(exc)
    if "schema" not in data:
        raise FixtureError(loc.name, 1, "schema", "missing: the first line should be 'schema = 1'")
    if data["schema"] != 1:
        raise loc.error(
            "", 0, "schema", f"unsupported schema {data['schema']!r}: this version reads schema = 1"
        )
    fx = Fixture(files=[loc.name], locators={loc.name: loc})
    # user rules first: events may name them
    rules = parse_rules(data, loc, f"rule file {loc.name}")
    cat = Catalogue(dict(catalogue.rules), dict(catalogue.aliases))
    for r in rules:
        cat.add(r)
    for r in rules:
        if r.cadence.kind == "after" and cat.resolve(r.cadence.after or "") is None:
            i = rules.index(r)
            raise loc.error(
                "rules",
                i,
                "after",
                f"unknown rule {r.cadence.after!r}{cat.suggest(r.cadence.after or '')}",
            )
    fx.rules = rules
    homes = dict(known)
    p = _Parser(loc, data, cat, homes, sink if sink is not None else fx, problems, as_of)
    p.broken.update(broken)
    network = data.get("network", {})
    with p.entry():
        if not isinstance(network, dict):
            raise loc.error("", 0, "network", "must be a table ([network])")
        for k, v in network.items():
            if k not in NETWORK_KEYS:
                raise loc.error("network", 0, k, f"unknown key{_suggest(k, NETWORK_KEYS)}")
            if not isinstance(v, str):
                raise loc.error("network", 0, k, "must be a string")
        fx.network = dict(network)
    _homes(p, fx, homes)
    base = dict.fromkeys(BULK, 0)  # the file-wide index of each table's first entry in a part
    for part in parts:
        base["events"] += _events(p, part, base["events"])
        base["actions"] += _actions(p, part, base["actions"])
        base["waivers"] += _waivers(p, part, base["waivers"])
    _holidays(p, fx)
    fx.broken = set(p.broken)
    return fx


def _homes(p: _Parser, fx: Fixture, homes: dict[str, Home]) -> None:
    seen: dict[str, int] = {}
    for i, raw in enumerate(p.entries("homes")):
        with p.entry():
            p.check_keys("homes", i, raw, HOME_KEYS)
            hid = p.string("homes", i, raw, "id", required=True)
            assert hid is not None
            if not HOME_ID.match(hid):
                raise p.err(
                    "homes", i, "id", f"{hid!r} must be lower-case letters, digits and hyphens"
                )
            if hid in seen:
                raise p.err(
                    "homes",
                    i,
                    "id",
                    f"duplicate home id {hid!r} (first at line {p.loc.line('homes', seen[hid], 'id')})",
                )
            seen[hid] = i
            p.current_home = hid  # a problem below: entries naming this home are skipped
            name = p.string("homes", i, raw, "name", required=True)
            nation = p.string("homes", i, raw, "nation", required=True)
            if nation not in NATIONS:
                raise p.err("homes", i, "nation", f"{nation!r} is not one of {', '.join(NATIONS)}")
            flags = {}
            for k, default in (("secure", True), ("yjb", False)):
                v = raw.get(k, default)
                if not isinstance(v, bool):
                    raise p.err("homes", i, k, "must be true or false")
                flags[k] = v
            places = raw.get("places")
            if places is not None and (
                not isinstance(places, int) or isinstance(places, bool) or places < 0
            ):
                raise p.err("homes", i, "places", "must be a whole number")
            opt = {
                k: p.string("homes", i, raw, k)
                for k in ("urn", "url", "local_authority", "sector", "provision")
            }
            home = Home(
                id=hid,
                name=name or hid,
                nation=nation,
                secure=flags["secure"],
                yjb=flags["yjb"],
                since=p.date("homes", i, raw, "since"),
                places=places,
                **opt,
            )
            fx.homes.append(home)
            homes[hid] = home
            fx.entries[f"home:{hid}"] = (p.loc.name, "homes", i)


def _event_date(p: _Parser, i: int, raw: dict[str, Any]) -> tuple[dt.date, str | None]:
    v = raw.get("date")
    if v is None:
        raise p.err("events", i, None, "missing required key 'date'")
    if isinstance(v, dt.datetime):
        try:
            check_wall_clock(v)  # as record --at: a time the clock change skips or repeats
        except ValueError as exc:
            raise p.err("events", i, "date", str(exc)) from None
        at = to_utc(v).isoformat().replace("+00:00", "Z")
        return local_date(v), at
    if isinstance(v, dt.date):
        return v, None
    if isinstance(v, dt.time):
        raise p.err("events", i, "date", "a time alone is not a date")
    raise p.err(
        "events",
        i,
        "date",
        f"{v!r} is not a date (write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+01:00, unquoted)",
    )


def _events(p: _Parser, part: dict[str, Any], base: int) -> int:
    entries = p.entries("events", part)
    for i, raw in enumerate(entries, start=base):
        with p.entry():
            p.check_keys("events", i, raw, EVENT_KEYS)
            home = p.home_ref("events", i, raw)
            rule = p.rule_ref("events", i, raw)
            if not p.cat.rules[rule].applies_to(p.homes[home]):  # as record refuses it
                r = p.cat.rules[rule]
                raise p.err(
                    "events",
                    i,
                    "rule",
                    f"{rule!r} does not apply to {home} ({r.applies_text()} only)",
                )
            if rule == "action":
                raise p.err(
                    "events",
                    i,
                    "rule",
                    "actions are closed with 'done' in [[actions]], not as events",
                )
            date, at = _event_date(p, i, raw)
            p.not_after_as_of("events", i, "date", date, "the event's date")
            fields = {
                k: p.string("events", i, raw, k)
                for k in ("by", "evidence", "notes", "outcome", "supersedes")
            }
            expires = p.date("events", i, raw, "expires")
            if expires is not None:
                if p.cat.rules[rule].cadence.kind != "expiry":
                    raise p.err(
                        "events",
                        i,
                        "expires",
                        f"only approvals take an expiry; {rule!r} is not one",
                    )
                if expires <= date:
                    raise p.err(
                        "events",
                        i,
                        "expires",
                        f"the approval expires ({expires}) on or before it was granted ({date})",
                    )
            eid = p.string("events", i, raw, "id") or event_id(
                home,
                rule,
                "done",
                date,
                at,
                fields["by"],
                fields["evidence"],
                fields["notes"],
                fields["outcome"],
                expires,
            )
            earlier = p.sink.keep(
                p.loc,
                "events",
                i,
                Event(
                    id=eid,
                    home=home,
                    rule=rule,
                    date=date,
                    at=at,
                    expires=expires,
                    by=fields["by"],
                    evidence=fields["evidence"],
                    notes=fields["notes"],
                    outcome=fields["outcome"],
                    supersedes=fields["supersedes"],
                ),
                unique=True,
            )
            if earlier is not None:
                first = p.loc.line("events", earlier)
                what = "duplicate event id" if "id" in raw else "the same event is written twice"
                raise p.err(
                    "events", i, "id" if "id" in raw else None, f"{what} (first at line {first})"
                )
    return len(entries)


def _actions(p: _Parser, part: dict[str, Any], base: int) -> int:
    entries = p.entries("actions", part)
    for i, raw in enumerate(entries, start=base):
        with p.entry():
            p.check_keys("actions", i, raw, ACTION_KEYS)
            home = p.home_ref("actions", i, raw)
            title = p.string("actions", i, raw, "title", required=True)
            assert title is not None
            due = p.date("actions", i, raw, "due", required=True)
            assert due is not None
            aid = p.string("actions", i, raw, "id") or action_id(home, title, due)
            created = p.date("actions", i, raw, "created")
            earlier = p.sink.keep(
                p.loc,
                "actions",
                i,
                Action(
                    aid,
                    home,
                    title.strip(),
                    due,
                    p.string("actions", i, raw, "source"),
                    p.string("actions", i, raw, "owner"),
                    created,
                ),
                unique=True,
            )
            if earlier is not None:
                raise p.err(
                    "actions",
                    i,
                    "id" if "id" in raw else "title",
                    f"duplicate action (first at line {p.loc.line('actions', earlier)})",
                )
            done = p.date("actions", i, raw, "done")
            if done is not None:
                p.not_after_as_of("actions", i, "done", done, "the action's 'done' date")
                if created is not None and done < created:
                    raise p.err(
                        "actions", i, "done", f"closed ({done}) before it was created ({created})"
                    )
                eid = event_id(home, "action", "done", done, aid)
                p.sink.keep_completion(
                    Event(id=eid, home=home, rule="action", date=done, target=aid)
                )
    return len(entries)


def _waivers(p: _Parser, part: dict[str, Any], base: int) -> int:
    entries = p.entries("waivers", part)
    for i, raw in enumerate(entries, start=base):
        with p.entry():
            p.check_keys("waivers", i, raw, WAIVER_KEYS)
            occ = p.string("waivers", i, raw, "occurrence")
            if occ is not None:
                parts = occ.split("/", 2)
                if len(parts) != 3:
                    raise p.err("waivers", i, "occurrence", f"{occ!r} is not HOME/RULE/PERIOD")
                raw = {**raw, "home": parts[0], "rule": parts[1], "period": parts[2]}
            home = p.home_ref("waivers", i, raw)
            rule = p.rule_ref("waivers", i, raw)
            period = p.string("waivers", i, raw, "period", required=True)
            reason = p.string("waivers", i, raw, "reason", required=True)
            date = p.date("waivers", i, raw, "date", required=True)
            assert period is not None and reason is not None and date is not None
            p.not_after_as_of("waivers", i, "date", date, "the waiver's date")
            target = f"{home}/{rule}/{period}"
            by = p.string("waivers", i, raw, "by")
            eid = p.string("waivers", i, raw, "id") or event_id(
                home, rule, "waiver", date, target, reason, by
            )
            p.sink.keep(
                p.loc,
                "waivers",
                i,
                Event(
                    id=eid,
                    home=home,
                    rule=rule,
                    date=date,
                    kind="waiver",
                    target=target,
                    notes=reason,
                    by=by,
                ),
                unique=False,  # a waiver written twice closes the same occurrence twice
            )
    return len(entries)


def _holidays(p: _Parser, fx: Fixture) -> None:
    for i, raw in enumerate(p.entries("holidays")):
        with p.entry():
            p.check_keys("holidays", i, raw, HOLIDAY_KEYS)
            nation = p.string("holidays", i, raw, "nation", required=True)
            if nation not in NATIONS:
                raise p.err(
                    "holidays", i, "nation", f"{nation!r} is not one of {', '.join(NATIONS)}"
                )
            date = p.date("holidays", i, raw, "date", required=True)
            assert date is not None
            remove = raw.get("remove", False)
            if not isinstance(remove, bool):
                raise p.err("holidays", i, "remove", "must be true or false")
            fx.holidays.append(
                HolidayOverride(
                    nation,
                    date,
                    "remove" if remove else "add",
                    p.string("holidays", i, raw, "name") or "",
                )
            )


def merge(parts: Iterable[Fixture], on_conflict: Callable[[str], None] | None = None) -> Fixture:
    """Combine several parsed fixtures (homes in one file, events in others)."""
    out = Fixture()
    for f in parts:
        out.files += f.files
        out.network.update(f.network)
        out.homes += f.homes
        out.events += f.events
        out.actions += f.actions
        out.rules += f.rules
        out.holidays += f.holidays
        out.entries.update(f.entries)
        out.locators.update(f.locators)
        out.broken |= f.broken
    return out

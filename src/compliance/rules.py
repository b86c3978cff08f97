"""Rules as data: the shipped packs (England, Wales, Scotland) and users' own rule files.

Each rule names its source and basis and carries worked examples that the tests run. A user rule
with the key of a shipped rule replaces it; a new key adds a rule (for example a provider policy).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .dates import PERIOD_KINDS, is_iso_form
from .errors import FixtureError
from .located import Locator, load_text
from .model import BASES, NATIONS, Cadence, Example, Home, Rule

PACKS = ("england", "wales", "scotland")
CADENCES = (*PERIOD_KINDS, "gap", "expiry", "after", "action", "record")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

RULE_KEYS = {
    "key",
    "title",
    "aliases",
    "nations",
    "secure",
    "yjb",
    "cadence",
    "months",
    "years",
    "days",
    "working_days",
    "after",
    "lead_days",
    "source",
    "basis",
    "url",
    "note",
    "examples",
}
EXAMPLE_KEYS = {"name", "as_of", "nation", "secure", "yjb", "since", "events", "expect"}
EXPECT_KEYS = {"period", "due", "status", "window_start", "done_on", "id"}


@dataclass
class Catalogue:
    """The rules in force: shipped packs overlaid with user rules."""

    rules: dict[str, Rule] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    _for: dict[tuple[str, bool, bool], list[Rule]] = field(default_factory=dict, repr=False)

    def add(self, rule: Rule) -> None:
        self._for.clear()
        old = self.rules.get(rule.key)
        if old is not None:
            for a in old.aliases:
                self.aliases.pop(a, None)
        self.rules[rule.key] = rule
        for a in rule.aliases:
            self.aliases[a] = rule.key

    def resolve(self, name: str) -> str | None:
        """The canonical key for a key or alias, or None."""
        name = name.strip().lower()
        if name in self.rules:
            return name
        return self.aliases.get(name)

    def suggest(self, name: str) -> str:
        words = [*self.rules, *self.aliases]
        close = difflib.get_close_matches(name.lower(), words, n=1, cutoff=0.5)
        return (
            f" (did you mean {close[0]!r}?)"
            if close
            else f" (known rules: {', '.join(sorted(self.rules))})"
        )

    def for_home(self, home: Home) -> list[Rule]:
        key = (home.nation, home.secure, home.yjb)
        if key not in self._for:
            self._for[key] = [r for r in self.rules.values() if r.applies_to(home)]
        return self._for[key]


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and is_iso_form(v):  # rules stored as JSON keep their dates as text
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def parse_rule(raw: Any, loc: Locator, index: int, origin: str, table: str = "rules") -> Rule:
    """One ``[[rules]]`` table into a Rule; every problem names its line and field."""

    def err(key: str | None, msg: str) -> FixtureError:
        return loc.error(table, index, key, msg)

    if not isinstance(raw, dict):
        raise err(None, "must be a table")
    for k in raw:
        if k not in RULE_KEYS:
            close = difflib.get_close_matches(k, RULE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise err(k, f"unknown key{hint}")
    for k in ("key", "title", "cadence", "source", "basis"):
        if k not in raw:
            raise err(None, f"missing required key {k!r}")
        if not isinstance(raw[k], str) or not raw[k].strip():
            raise err(k, "must be a non-empty string")
    key = raw["key"]
    if not KEY_RE.match(key):
        raise err("key", f"{key!r} must be lower-case letters, digits and hyphens")
    cadence_name = raw["cadence"]
    if cadence_name not in CADENCES:
        raise err("cadence", f"{cadence_name!r} is not one of {', '.join(CADENCES)}")
    if raw["basis"] not in BASES:
        raise err("basis", f"{raw['basis']!r} is not one of {', '.join(BASES)}")
    ints: dict[str, int] = {}
    for k in ("months", "years", "days", "working_days", "lead_days"):
        if k in raw:
            v = raw[k]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise err(k, "must be a whole number, 0 or more")
            ints[k] = v
    after = raw.get("after")
    if cadence_name == "gap" and not (ints.get("months") or ints.get("years") or ints.get("days")):
        raise err("cadence", "a gap rule needs months, years or days")
    if cadence_name == "expiry" and not (
        ints.get("months") or ints.get("years") or ints.get("days")
    ):
        raise err(
            "cadence",
            "an expiry rule needs years (or months/days) for approvals without a printed expiry",
        )
    if cadence_name == "after":
        if not isinstance(after, str) or not after:
            raise err("after", "an 'after' rule names the rule whose events start it")
        if bool(ints.get("days")) == bool(ints.get("working_days")):
            raise err("cadence", "an 'after' rule needs exactly one of days or working_days")
    elif after is not None:
        raise err("after", "only an 'after' cadence takes 'after'")
    if cadence_name in PERIOD_KINDS:
        cadence = Cadence("period", period=cadence_name)
    else:
        cadence = Cadence(
            cadence_name,
            months=ints.get("months", 0),
            years=ints.get("years", 0),
            days=ints.get("days", 0),
            working_days=ints.get("working_days", 0),
            after=after,
        )
    nations = raw.get("nations", list(NATIONS))
    if isinstance(nations, str):
        nations = [nations]
    if not isinstance(nations, list) or not nations or any(n not in NATIONS for n in nations):
        raise err("nations", f"must list some of {', '.join(NATIONS)}")
    flags: dict[str, bool | None] = {}
    for k in ("secure", "yjb"):
        v = raw.get(k)
        if v is not None and not isinstance(v, bool):
            raise err(k, "must be true or false (leave it out for any home)")
        flags[k] = v
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and KEY_RE.match(a) for a in aliases
    ):
        raise err("aliases", "must be a list of lower-case keys")
    for k in ("url", "note"):
        if k in raw and not isinstance(raw[k], str):
            raise err(k, "must be a string")
    rule = Rule(
        key=key,
        title=raw["title"].strip(),
        cadence=cadence,
        source=raw["source"].strip(),
        basis=raw["basis"],
        lead_days=ints.get("lead_days", 14),
        nations=tuple(nations),
        secure=flags["secure"],
        yjb=flags["yjb"],
        aliases=tuple(aliases),
        url=raw.get("url"),
        note=raw.get("note"),
        origin=origin,
    )
    examples = raw.get("examples", [])
    if not isinstance(examples, list):
        raise err("examples", "must be an array of tables ([[rules.examples]])")
    return replace(
        rule, examples=tuple(_example(e, loc, index, table, n) for n, e in enumerate(examples))
    )


def _example(raw: Any, loc: Locator, rule_index: int, table: str, n: int) -> Example:
    sub = f"{table}.examples"
    # examples are located by their own [[rules.examples]] header, counted across the file
    line = loc.table_line(
        sub, _example_ordinal(loc, table, rule_index, sub, n), loc.line(table, rule_index)
    )

    def err(key: str, msg: str) -> FixtureError:
        return FixtureError(loc.name, line, f"{table}[{rule_index}].examples[{n}].{key}", msg)

    if not isinstance(raw, dict):
        raise err("", "must be a table")
    for k in raw:
        if k not in EXAMPLE_KEYS:
            raise err(k, "unknown key")
    as_of = _date(raw.get("as_of"))
    if as_of is None:
        raise err("as_of", "is required and must be a date")
    since = raw.get("since")
    if since is not None and _date(since) is None:
        raise err("since", "must be a date")
    events: list[tuple[str, dt.date, dt.date | None]] = []
    for i, ev in enumerate(raw.get("events", [])):
        if isinstance(ev, dict):
            d = _date(ev.get("date"))
            if d is None or not isinstance(ev.get("rule"), str):
                raise err(f"events[{i}]", "needs rule and date")
            events.append((ev["rule"], d, _date(ev.get("expires"))))
        else:
            d = _date(ev)
            if d is None:
                raise err(f"events[{i}]", "must be a date or {rule, date, expires}")
            events.append(("", d, None))
    expect = raw.get("expect", [])
    if not isinstance(expect, list) or not expect:
        raise err("expect", "must list the expected occurrences")
    for i, x in enumerate(expect):
        if not isinstance(x, dict) or any(k not in EXPECT_KEYS for k in x):
            raise err(
                f"expect[{i}]", f"must be a table with keys among {', '.join(sorted(EXPECT_KEYS))}"
            )
    nation = raw.get("nation", "england")
    if nation not in NATIONS:
        raise err("nation", f"must be one of {', '.join(NATIONS)}")
    return Example(
        name=str(raw.get("name", f"example {n + 1}")),
        as_of=as_of,
        nation=nation,
        secure=bool(raw.get("secure", True)),
        yjb=bool(raw.get("yjb", False)),
        since=_date(since),
        events=tuple(events),
        expect=tuple(expect),
        line=line,
    )


def _example_ordinal(loc: Locator, table: str, rule_index: int, sub: str, n: int) -> int:
    """The file-wide index of the n-th example of rule ``rule_index``."""
    start = loc.table_line(table, rule_index, 0)
    end = loc.table_line(table, rule_index + 1, 10**9)
    inside = loc.between(sub, start, end)
    return inside[n] if n < len(inside) else -1


def parse_rules(data: Mapping[str, Any], loc: Locator, origin: str) -> list[Rule]:
    raw = data.get("rules", [])
    if not isinstance(raw, list):
        raise loc.error("rules", 0, None, "must be an array of tables ([[rules]])")
    rules = [parse_rule(r, loc, i, origin) for i, r in enumerate(raw)]
    seen: dict[str, int] = {}
    for i, r in enumerate(rules):
        if r.key in seen:
            raise loc.error(
                "rules",
                i,
                "key",
                f"duplicate rule key {r.key!r} (first at line {loc.line('rules', seen[r.key], 'key')})",
            )
        seen[r.key] = i
    return rules


_BUILTIN: Catalogue | None = None
SCHEDULES = Path(__file__).resolve().parent / "schedules"


def builtin() -> Catalogue:
    """The shipped rule packs (parsed once per process)."""
    global _BUILTIN
    if _BUILTIN is None:
        cat = Catalogue()
        for pack in PACKS:
            # beside this module, as package data; not importlib.resources, whose readers
            # import zipfile and cost every command ~8 ms for files that are never zipped
            text = (SCHEDULES / f"{pack}.toml").read_text("utf-8")
            data, loc = load_text(text, f"compliance/schedules/{pack}.toml")
            for rule in parse_rules(data, loc, f"built-in ({pack})"):
                if rule.key in cat.rules:
                    raise ValueError(f"rule {rule.key!r} is defined in two packs")
                cat.add(rule)
        _BUILTIN = cat
    return Catalogue(dict(_BUILTIN.rules), dict(_BUILTIN.aliases))


def catalogue(user_rules: Iterable[Rule] = ()) -> Catalogue:
    cat = builtin()
    for r in user_rules:
        cat.add(r)
    return cat


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A rule as the plain data of a rule file (dates as ISO strings): for the store and export."""
    c = rule.cadence
    out: dict[str, Any] = {
        "key": rule.key,
        "title": rule.title,
        "cadence": c.period if c.kind == "period" else c.kind,
        "source": rule.source,
        "basis": rule.basis,
        "lead_days": rule.lead_days,
        "nations": list(rule.nations),
    }
    for k in ("months", "years", "days", "working_days"):
        if getattr(c, k):
            out[k] = getattr(c, k)
    if c.after:
        out["after"] = c.after
    if rule.aliases:
        out["aliases"] = list(rule.aliases)
    for k in ("secure", "yjb", "url", "note"):
        if getattr(rule, k) is not None:
            out[k] = getattr(rule, k)
    if rule.examples:
        exs = []
        for e in rule.examples:
            ex: dict[str, Any] = {"name": e.name, "as_of": e.as_of.isoformat(), "nation": e.nation}
            ex["secure"], ex["yjb"] = e.secure, e.yjb
            if e.since:
                ex["since"] = e.since.isoformat()
            ex["events"] = [
                {"rule": r, "date": d.isoformat(), **({"expires": x.isoformat()} if x else {})}
                if r
                else d.isoformat()
                for r, d, x in e.events
            ]
            ex["expect"] = [
                {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in x.items()}
                for x in e.expect
            ]
            exs.append(ex)
        out["examples"] = exs
    return out


def rule_from_dict(data: Mapping[str, Any], origin: str) -> Rule:
    loc = Locator(origin)
    return parse_rule(dict(data), loc, 0, origin)

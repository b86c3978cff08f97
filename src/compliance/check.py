"""``compliance check``: validate fixture files and fail when a statutory deadline is missed (CI).

Works on files alone: every file is parsed (all problems collected, each naming file, line and
field), checked across files (duplicates, corrections, reports without their review, worked
examples of user rules), loaded into a throw-away in-memory store and run through the same
:func:`service.due` as ``compliance due``, so ``check`` and ``load`` + ``due`` always agree.
"""

from __future__ import annotations

import datetime as dt
import errno
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import output
from .engine import Query
from .errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ComplianceError,
    FixtureError,
    InvalidInput,
    TemporarySpace,
)
from .examples import check_example
from .fixture import Fixture, merge, parse_set, read_tree
from .ledger import Ledger
from .model import Event, History, Home
from .rules import Catalogue, catalogue
from .service import Item, Network, due, occurrences, waiver_problems, why
from .store import Store
from .workdays import BankHolidays

FAIL_ON = ("overdue", "due", "none")  # none: validate the files only (a pre-commit hook)
FORMATS = ("text", "json", "junit", "github")
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)  # what TemporarySpace says; other errors are not it
EXPLAIN_BATCH = 100  # homes whose every event is read at a time, to explain what they owe


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file (exit 2)."""

    file: str
    line: int
    field: str
    message: str

    @classmethod
    def of(cls, exc: FixtureError) -> Problem:
        return cls(exc.file, exc.line, exc.field, exc.detail)

    def text(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class Finding:
    """An open obligation overdue, or due within the horizon, located in the files."""

    item: Item
    fails: bool
    file: str
    line: int
    steps: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        return "overdue" if self.item.occ.status == "overdue" else "due"

    def message(self) -> str:
        o = self.item.occ
        left = o.days_left(self.item.as_of)
        if left < 0:
            when = f"was due {o.due}, {-left} day{'s' if left != -1 else ''} overdue"
        elif left == 0:
            when = f"is due today ({o.due})"
        else:
            when = f"is due {o.due}, in {left} day{'s' if left != 1 else ''}"
        return f"{o.id}: {self.item.title} {when}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.item.as_dict(),
            "fails": self.fails,
            "file": self.file,
            "line": self.line,
            "steps": list(self.steps),
        }


@dataclass
class Report:
    as_of: dt.date
    days: int
    fail_on: str
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    rules: dict[str, list[str]] = field(default_factory=dict)  # home id -> rules that apply
    home_at: dict[str, tuple[str, int]] = field(default_factory=dict)
    examples: int = 0  # worked examples of user rules that were run
    computed: bool = False  # deadlines are computed only when every file is valid

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_USAGE
        return EXIT_FAILED if any(f.fails for f in self.findings) else EXIT_OK

    @property
    def counts(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "homes": len(self.homes),
            "problems": len(self.problems),
            "overdue": sum(f.level == "overdue" for f in self.findings),
            "due": sum(f.level == "due" for f in self.findings),
            "failed": sum(f.fails for f in self.findings),
            "examples": self.examples,
        }


def run(paths: Sequence[Path], as_of: dt.date, days: int = 30, fail_on: str = "overdue") -> Report:
    """Check fixture files (or directories of them) as of a date. Never raises on bad files.

    The events and actions are kept in a throw-away database on disk (a :class:`Ledger`), not in
    memory: a national network's files hold about a million events."""
    if days < 0:
        raise InvalidInput("--days must be 0 or more")
    if fail_on not in FAIL_ON:
        raise InvalidInput(f"--fail-on must be one of {', '.join(FAIL_ON)}")
    rep = Report(as_of, days, fail_on)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="compliance-check-") as tmp,
            closing(Ledger(Path(tmp))) as ledger,
        ):
            _check(paths, ledger, rep)
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        raise TemporarySpace(exc.strerror or str(exc)) from None
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode != sqlite3.SQLITE_FULL:
            raise  # not the disk: a bug, reported as one
        raise TemporarySpace(str(exc)) from None
    return rep


def _check(paths: Sequence[Path], ledger: Ledger, rep: Report) -> None:
    as_of = rep.as_of
    found: list[FixtureError] = []
    sources = read_tree(_discover(paths, rep.problems), found)
    rep.files = [s.loc.name for s in sources]
    parts = parse_set(sources, catalogue=catalogue(), as_of=as_of, problems=found, sink=ledger)
    rep.problems += [Problem.of(e) for e in found]
    cat = catalogue(r for part in parts for r in part.rules)
    fx = merge(parts)
    depth = _depths(ledger.corrections)
    ledger.finish(depth)
    _across_files(parts, fx, cat, ledger, depth, rep)
    holidays = BankHolidays(tuple(fx.holidays))
    rep.examples = _run_examples(parts, cat, holidays, rep.problems)
    first: dict[str, Home] = {}
    for h in fx.homes:
        first.setdefault(h.id, h)  # a duplicate is a problem already; its first entry counts
    rep.homes = list(first.values())
    rep.home_at = {h.id: fx.line_of(f"home:{h.id}", "id") for h in fx.homes}
    if rep.problems:
        rep.problems.sort(key=_problem_order(rep.files))
        return
    net = _network(ledger.store, fx)
    rep.problems += [Problem.of(e) for e in waiver_problems(net, ledger)]
    if rep.problems:
        rep.problems.sort(key=_problem_order(rep.files))
        return
    rep.rules = {h.id: [r.key for r in net.cat.for_home(h)] for h in fx.homes}
    items = due(net, as_of, rep.days)
    explained = _explanations(net, as_of, items)
    for it in items:
        file, line = _locate(fx, ledger, it)
        steps = explained.get(it.occ.id)
        if steps is None:
            try:
                steps = why(net, it.occ.id, as_of).item.occ.steps
            except ComplianceError:
                steps = ()
        fails = rep.fail_on == "due" or (rep.fail_on == "overdue" and it.occ.status == "overdue")
        rep.findings.append(Finding(it, fails, file, line, steps))
    rep.computed = True


# -- reading -----------------------------------------------------------------------------------


def _discover(paths: Sequence[Path], problems: list[Problem]) -> list[Path]:
    """Files as given; a directory stands for every ``*.toml`` below it (sorted, hidden skipped)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*.toml")
                if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts)
            )
            if not found:
                problems.append(Problem(str(p), 0, "", "no .toml files in this directory"))
            out += found
        else:
            out.append(p)
    return out


# -- checks across files -----------------------------------------------------------------------


def _across_files(
    parts: list[Fixture],
    fx: Fixture,
    cat: Catalogue,
    ledger: Ledger,
    depth: dict[str, int],
    rep: Report,
) -> None:
    """What no single file can see: duplicates between files, corrections of missing events,
    reports (``after`` rules) without the event they report on."""
    firsts: dict[str, tuple[str, int]] = {}
    for part in parts:
        for h in part.homes:
            rec = f"home:{h.id}"
            where = part.line_of(rec, "id")
            if rec in firsts and firsts[rec][0] != where[0]:
                f, ln = firsts[rec]
                rep.problems.append(
                    Problem.of(part.error_at(rec, "id", f"duplicate home: also at {f}:{ln}"))
                )
            firsts.setdefault(rec, where)
    for kind, _, (file, table, index), (f, t, i) in ledger.duplicates():
        ln = ledger.locators[f].line(t, i)
        msg = f"duplicate {kind}: also at {f}:{ln}"
        rep.problems.append(Problem.of(ledger.locators[file].error(table, index, None, msg)))
    rule_at: dict[str, tuple[str, int]] = {}
    for part in parts:
        for i, r in enumerate(part.rules):
            loc = part.locators[part.files[0]]
            if r.key in rule_at:
                f, ln = rule_at[r.key]
                rep.problems.append(
                    Problem.of(
                        loc.error("rules", i, "key", f"duplicate rule {r.key!r}: also at {f}:{ln}")
                    )
                )
            rule_at.setdefault(r.key, (loc.name, loc.line("rules", i, "key")))
    homes = ledger.event_homes(sorted({e.supersedes for e in ledger.corrections if e.supersedes}))
    for e in ledger.corrections:
        rec = f"event:{e.id}"
        old = homes.get(e.supersedes or "")
        if old is None:
            msg = f"no event {e.supersedes!r} to supersede (give the id of an event in these files)"
            rep.problems.append(Problem.of(ledger.error_at(rec, "supersedes", msg)))
        elif old != e.home:
            msg = f"event {e.supersedes!r} belongs to {old}, not {e.home}"
            rep.problems.append(Problem.of(ledger.error_at(rec, "supersedes", msg)))
        elif depth[e.id] < 0:
            msg = "corrections form a cycle: each event supersedes another of the cycle"
            rep.problems.append(Problem.of(ledger.error_at(rec, "supersedes", msg)))
    for rule in cat.rules.values():
        after = rule.cadence.after if rule.cadence.kind == "after" else None
        if not after:
            continue
        trigger = cat.resolve(after) or after
        for eid, home, date in ledger.unreported(rule.key, trigger):
            msg = (
                f"a {rule.key} on {date} but no {trigger} of {home} on or before it: "
                f"record the {trigger} it reports on, or correct the date"
            )
            rep.problems.append(Problem.of(ledger.error_at(f"event:{eid}", "rule", msg)))


def _run_examples(
    parts: list[Fixture], cat: Catalogue, holidays: BankHolidays, problems: list[Problem]
) -> int:
    """Run the worked examples of every user rule: a rule file must agree with the engine."""
    n = 0
    for part in parts:
        for i, rule in enumerate(part.rules):
            for k, ex in enumerate(rule.examples):
                n += 1
                label = f"rules[{i}].examples[{k}]"
                try:
                    msgs = check_example(rule, ex, cat, holidays)
                except ValueError as exc:
                    msgs = [f"{rule.key} example {ex.name!r} cannot be computed: {exc}"]
                problems += [Problem(part.files[0], ex.line, label, m) for m in msgs]
    return n


def _problem_order(files: list[str]) -> Callable[[Problem], tuple[int, str, int, str]]:
    rank = {f: i for i, f in enumerate(files)}
    return lambda p: (rank.get(p.file, -1), p.file, p.line, p.field)


# -- computing ---------------------------------------------------------------------------------


def _network(store: Store, fx: Fixture) -> Network:
    """The ledger's store made whole, as ``compliance load`` writes a set: the homes, rules,
    bank holidays and network of the files, and the summary index of its log."""
    if fx.network:
        store.put_network(fx.network)
    store.put_homes(fx.homes)
    store.put_rules(fx.rules)
    store.put_holidays(fx.holidays)
    store.rebuild_summary()
    return Network.open(store, index=False)  # computed once: no index to keep


def _depths(corrections: list[Event]) -> dict[str, int]:
    """How many corrections deep each correction is, counting the corrections it corrects
    through (the order to append them in); -1 in a cycle."""
    by_id = {e.id: e for e in corrections}
    out: dict[str, int] = {}
    for e in corrections:
        seen: set[str] = set()
        cur, n = e, 0
        while cur.supersedes is not None and cur.supersedes in by_id:
            if cur.id in seen:
                n = -1
                break
            seen.add(cur.id)
            cur, n = by_id[cur.supersedes], n + 1
        out[e.id] = n
    return out


def _explanations(net: Network, as_of: dt.date, items: list[Item]) -> dict[str, tuple[str, ...]]:
    """The steps of ``compliance why`` for every item, a batch of homes at a time (``why`` reads
    the store once per item: minutes on a national set; all homes at once, gigabytes). A test
    checks they are the same as ``why``'s."""
    homes = sorted({it.home.id for it in items})
    if not homes:
        return {}
    wanted = {it.occ.id for it in items}
    until = max(it.occ.due for it in items)
    # the items are open, so a view from as_of keeps them: what was settled before it need not
    # be worked out (ten years of it, on a national set); a property test checks that a start
    # bound changes no other occurrence's explanation
    q = Query(as_of, until, explain=True, closed=True, holidays=net.holidays, start=as_of)
    out: dict[str, tuple[str, ...]] = {}
    for i in range(0, len(homes), EXPLAIN_BATCH):
        batch = homes[i : i + EXPLAIN_BATCH]
        events = net.store.events_of(batch)
        superseded = {e.supersedes for e in events if e.supersedes}  # (always of the same home)
        by_rule: dict[tuple[str, str], list[Event]] = {}
        for e in events:  # as service.full_histories, for a batch of homes at once
            if e.kind == "done" and e.rule != "action" and e.id not in superseded:
                by_rule.setdefault((e.home, e.rule), []).append(e)
        hists = {k: History.of(v) for k, v in by_rule.items()}
        snap = net.store.snapshot(batch, open_actions_only=False)
        out.update(
            (x.occ.id, x.occ.steps)
            for x in occurrences(net, snap, q, histories=hists)
            if x.occ.id in wanted
        )
    return out


def _locate(fx: Fixture, ledger: Ledger, it: Item) -> tuple[str, int]:
    """Where a deadline points: the action's entry, the event that started it or the last
    relevant event, else the home's entry."""
    o, c = it.occ, it.rule.cadence
    if o.rule == "action" and ledger.entry(f"action:{o.period}") is not None:
        return ledger.line_of(f"action:{o.period}", "due")
    if c.kind == "after" and c.after:
        try:
            on = dt.date.fromisoformat(o.period)
        except ValueError:
            eid = None
        else:
            eid = ledger.last_event(o.home, c.after, on=on)
    else:
        eid = ledger.last_event(o.home, o.rule, until=it.as_of)
    if eid is not None:
        return ledger.line_of(f"event:{eid}", "date")
    if f"home:{o.home}" in fx.entries:
        return fx.line_of(f"home:{o.home}", "id")
    return (fx.files[0] if fx.files else "-", 1)


# -- rendering ---------------------------------------------------------------------------------


def summary(rep: Report) -> str:
    c = rep.counts
    what = f"{c['files']} file{'s' if c['files'] != 1 else ''}, {c['homes']} home{'s' if c['homes'] != 1 else ''}"
    if c["examples"]:
        what += f", {c['examples']} rule example{'s' if c['examples'] != 1 else ''}"
    head = f"Checked {what} as of {rep.as_of}"
    if rep.problems:
        return (
            f"{head}: {c['problems']} problem{'s' if c['problems'] != 1 else ''} in the files; "
            "fix them and run again (deadlines are computed once every file is valid). FAILED (exit 2)"
        )
    counts = f"{c['overdue']} overdue, {c['due']} due within {rep.days} days"
    if c["failed"]:
        why_ = "overdue" if rep.fail_on == "overdue" else "overdue or due soon (--fail-on due)"
        return f"{head}: {counts}. FAILED: {c['failed']} {why_} (exit 1)"
    return f"{head}: {counts}. OK"


def render(rep: Report, fmt: str, *, colour: bool = False) -> str:
    if fmt == "json":
        return render_json(rep)
    if fmt == "junit":
        return render_junit(rep)
    if fmt == "github":
        return render_github(rep)
    return render_text(rep, colour)


def render_text(rep: Report, colour: bool = False) -> str:
    lines = []
    for p in rep.problems:
        tag = output.paint("error", "overdue", colour)
        lines.append(
            f"{p.file}:{p.line}: {tag}: {p.field}: {p.message}"
            if p.field
            else f"{p.file}:{p.line}: {tag}: {p.message}"
        )
    for f in rep.findings:
        tag = output.paint(f.level, f.level, colour)
        lines.append(f"{f.file}:{f.line}: {tag}: {f.message()}")
        if f.fails:
            lines += [f"    {n}. {s}" for n, s in enumerate(f.steps, start=1)]
    if lines:
        lines.append("")
    lines.append(summary(rep))
    return "\n".join(lines) + "\n"


def render_json(rep: Report) -> str:
    return (
        output.to_json(
            {
                "as_of": rep.as_of.isoformat(),
                "days": rep.days,
                "fail_on": rep.fail_on,
                "ok": rep.exit_code == EXIT_OK,
                "exit_code": rep.exit_code,
                "computed": rep.computed,
                "files": rep.files,
                "problems": [p.as_dict() for p in rep.problems],
                "items": [f.as_dict() for f in rep.findings],
                "summary": rep.counts,
            }
        )
        + "\n"
    )


def render_junit(rep: Report) -> str:
    """JUnit XML: a suite of files (one case per file) and one suite per home (one case per rule)."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="compliance check")
    files = ET.SubElement(root, "testsuite", name="files")
    by_file: dict[str, list[Problem]] = {}
    for p in rep.problems:
        by_file.setdefault(p.file, []).append(p)
    names = rep.files + [f for f in by_file if f not in rep.files]
    for name in names:
        case = ET.SubElement(files, "testcase", classname="files", name=name, file=name)
        probs = by_file.get(name, [])
        if probs:
            n = len(probs)
            fail = ET.SubElement(
                case,
                "failure",
                message=f"{n} problem{'s' if n != 1 else ''}: {probs[0].text()}",
                type="invalid",
            )
            fail.text = "\n".join(p.text() for p in probs)
    suites = [files]
    findings: dict[tuple[str, str], list[Finding]] = {}
    for f in rep.findings:
        findings.setdefault((f.item.home.id, f.item.rule.key), []).append(f)
    for h in rep.homes if rep.computed else []:
        suite = ET.SubElement(root, "testsuite", name=f"deadlines: {h.id}")
        suites.append(suite)
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="as_of", value=rep.as_of.isoformat())
        ET.SubElement(props, "property", name="home_name", value=h.name)
        for key in rep.rules.get(h.id, []):
            fs = findings.get((h.id, key), [])
            file, line = (fs[0].file, fs[0].line) if fs else rep.home_at[h.id]
            case = ET.SubElement(
                suite, "testcase", classname=h.id, name=key, file=file, line=str(line)
            )
            failing = [f for f in fs if f.fails]
            if failing:
                fail = ET.SubElement(
                    case,
                    "failure",
                    message="; ".join(f.message() for f in failing),
                    type=failing[0].level,
                )
                fail.text = "\n\n".join(
                    f"{f.file}:{f.line}: {f.message()}\n"
                    + "\n".join(f"{n}. {s}" for n, s in enumerate(f.steps, start=1))
                    for f in failing
                )
            elif fs:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(f"{f.file}:{f.line}: {f.message()}" for f in fs)
    total = failures = 0
    for suite in suites:
        cases = suite.findall("testcase")
        fails = sum(1 for c in cases if c.find("failure") is not None)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", "0")
        total, failures = total + len(cases), failures + fails
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _gh(level: str, file: str, line: int, title: str, message: str) -> str:
    props = [f"file={_gh_prop(file)}"] + ([f"line={line}"] if line > 0 else [])
    props.append(f"title={_gh_prop(title)}")
    return f"::{level} {','.join(props)}::{_gh_data(message)}"


def render_github(rep: Report) -> str:
    """GitHub Actions workflow commands: each problem on the offending line of a pull request."""
    lines = [
        _gh("error", p.file, p.line, f"compliance: {p.field or 'file'}", p.message)
        for p in rep.problems
    ]
    for f in rep.findings:
        level = "error" if f.fails else "warning"
        title = f"{'overdue' if f.level == 'overdue' else 'due soon'}: {f.item.occ.id}"
        body = f.message() + "".join(f"\n{n}. {s}" for n, s in enumerate(f.steps, start=1))
        lines.append(_gh(level, f.file, f.line, title, body))
    lines.append(summary(rep))
    return "\n".join(lines) + "\n"

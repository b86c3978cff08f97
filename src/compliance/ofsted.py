"""Ofsted's "Children's social care data in England - Provider level in year" CSVs as homes and events.

Pure parsing and mapping (:func:`read_file`, :func:`plan_file`) plus one thin writer
(:func:`import_files`). The published files change layout from year to year: header names
("Event type" / "Inspection event type", "Inspection Date" / "Inspection date", ...), three
preamble lines before the header from 2022-23, byte-order marks, Windows-1252 bytes in some
years, DD/MM/YYYY dates, blank cells and trailing empty columns. Columns are found by name, never
by position; a file whose header lacks a column we need is refused, naming what is missing.

Mapping (see README "Importing Ofsted data"):

- one home per URN (names are redacted: a home is labelled "URN (local authority)"); secure
  children's homes are ``secure = True``; children's homes, including residential special schools
  registered as children's homes, ``secure = False``; every other provision type is skipped and
  counted;
- full inspections satisfy ``ofsted-full``; interim inspections ("SC Interim", "Interim
  inspection", "Assurance visit") satisfy ``ofsted-interim`` at secure homes; monitoring and
  emergency inspections, and interims of homes that are not secure (only secure homes have the
  interim rule), are kept as ``ofsted-other``, which is on record only and satisfies nothing;
- a full inspection of a secure home with an education judgement ("Outcomes in education and
  related learning activities": 2014-15 and 2018-19 on; the column is absent 2015-16 to 2017-18)
  also records an ``ofsted-education`` event on the same date, the judgement as its outcome;
- event ids are ``ofsted-URN-EVENTNUMBER`` (the education event's ``...-education``), so
  importing a file twice adds nothing.

Contains public sector information licensed under the Open Government Licence v3.0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidInput
from .model import Event, Home

if TYPE_CHECKING:
    from .store import Store

ORIGIN_PREFIX = "ofsted:"
ID_PREFIX = "ofsted-"

# field -> the header names it has had over the years (compared case- and space-insensitively)
COLUMNS: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    "provision": ("Provision type",),
    "local_authority": ("Local authority",),
    "sector": ("Sector",),
    "event_type": ("Inspection type", "Event type", "Inspection event type"),
    "date": ("Inspection date",),
    "number": ("Inspection ID", "Event number", "Inspection event number"),
    "judgement": (
        "Overall effectiveness",
        "Overall experiences and progress of children and young people",
        "Inspection overall experiences and progress of children and young people",
    ),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "places": ("Places",),
    "status": ("Reg Status", "Registration status"),
    # secure homes' full inspections only; 2014-15 and 2018-19 on (2015-16 to 2017-18 have no
    # such column). 2023-24's "Previous outcomes in ..." repeats last year's and is not read.
    "education": (
        "Outcomes in education and related learning activities",
        "Inspection outcomes in education and related learning activities",
    ),
}

SECURE = "Secure children's home"
CHILDRENS_HOME = "Children's home"
RSS_HOME = "Residential special school (registered as a children's home)"
PROVISIONS = {
    "secure children's home": SECURE,
    "children's home": CHILDRENS_HOME,
    "residential special school (registered as a children's home)": RSS_HOME,
    # 2014-15's name for the same registration: a residential special school open to children for
    # more than 295 days a year must register as a children's home
    "residential special school (>295 days/year)": RSS_HOME,
}

FULL, INTERIM, MONITORING, EMERGENCY = "full", "interim", "monitoring", "emergency"
EVENT_TYPES = {
    "full inspection": FULL,
    "interim inspection": INTERIM,
    "sc interim": INTERIM,
    "assurance visit": INTERIM,
    "monitoring inspection": MONITORING,
    "sc monitoring inspection": MONITORING,
    "emergency inspection": EMERGENCY,
    "sc emergency inspection": EMERGENCY,
}
RULES = {FULL: "ofsted-full", INTERIM: "ofsted-interim", MONITORING: "ofsted-other"}
RECORD_ONLY = "ofsted-other"
EDUCATION = "ofsted-education"
HOME_ID_BAD = re.compile(r"[^a-z0-9-]+")
# Exactly two digits of day and month, as in every published file: 1/2/2016 is not that form,
# so it is refused like any other. ASCII digits only: \d would also take other scripts' digits.
DATE_RE = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")


def _norm(text: str) -> str:
    """Compare names and labels ignoring case, BOMs, curly quotes, dashes and spacing."""
    t = text.replace("\ufeff", "").replace("\u2019", "'").replace("\u2013", " ").replace("-", " ")
    return " ".join(t.lower().split())


@dataclass(frozen=True, slots=True)
class Row:
    """One inspection of a home we keep, as read (line numbers are the file's)."""

    line: int
    urn: str
    provision: str  # canonical name
    secure: bool
    local_authority: str
    sector: str
    places: int | None
    kind: str  # full | interim | monitoring | emergency
    event_type: str  # as published
    date: dt.date
    number: str
    judgement: str
    status: str
    education: str = ""  # the education judgement ("" when the file has none for this row)


@dataclass
class ParsedFile:
    path: str
    rows: list[Row]
    data_rows: int
    skipped: Counter[str] = field(default_factory=Counter)


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark); some years were saved as Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _find_header(rows: list[list[str]], name: str) -> tuple[int, dict[str, int]]:
    """The header row (the first of the first 20 that names several known columns) and its map."""
    wanted = {**COLUMNS, **OPTIONAL}
    aliases = {_norm(a): f for f, names in wanted.items() for a in names}
    for i, row in enumerate(rows[:20]):
        cells = [_norm(c) for c in row]
        found: dict[str, int] = {}
        for j, c in enumerate(cells):
            f = aliases.get(c)
            if f is not None and f not in found:
                found[f] = j
        if len(found) >= 3:
            missing = [f for f in COLUMNS if f not in found]
            if missing:
                what = "; ".join(
                    f"{f} ({' / '.join(repr(n) for n in COLUMNS[f])})" for f in missing
                )
                raise InvalidInput(
                    f"{name}: unknown layout: line {i + 1} is the header but has no column for {what}"
                )
            return i, found
    raise InvalidInput(
        f"{name}: unknown layout: no header row in the first 20 lines "
        f"(looked for {', '.join(repr(n[0]) for n in COLUMNS.values())})"
    )


def parse_date(text: str, name: str, line: int) -> dt.date:
    """A DD/MM/YYYY date, the only form in every published year. Anything else (ISO dates
    included: no published file has one, so one would mean the file was edited or is not what
    we think) is refused, naming the file and line."""
    m = DATE_RE.match(text.strip())
    if m:
        try:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            pass
    raise InvalidInput(
        f"{name}:{line}: inspection date {text.strip()!r} is not a date (DD/MM/YYYY); nothing was imported"
    )


def _places(text: str) -> int | None:
    """The Places cell as a number of places; anything but ASCII digits ("six", "6.0") is left
    empty. str.isdigit alone would pass "²", which int() then refuses."""
    return int(text) if text.isascii() and text.isdigit() else None


def parse_text(text: str, name: str) -> ParsedFile:
    """Parse one file's text: the kept rows, and the skipped ones counted by reason."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    head, cols = _find_header(rows, name)

    def cell(r: list[str], f: str) -> str:
        j = cols.get(f)
        return r[j].strip() if j is not None and j < len(r) else ""

    out = ParsedFile(name, [], 0)
    for n, r in enumerate(rows[head + 1 :], start=head + 2):
        if not any(c.strip() for c in r):
            continue  # blank lines and rows of empty trailing cells
        out.data_rows += 1
        urn = cell(r, "urn").upper()
        if not urn:
            out.skipped["no URN"] += 1
            continue
        published = cell(r, "provision")
        provision = PROVISIONS.get(_norm(published))
        if provision is None:
            out.skipped[f"provision type: {published or '(blank)'}"] += 1
            continue
        event_type = cell(r, "event_type")
        kind = EVENT_TYPES.get(_norm(event_type))
        if kind is None:
            out.skipped[f"event type: {event_type or '(blank)'}"] += 1
            continue
        places = cell(r, "places")
        sector = cell(r, "sector")
        out.rows.append(
            Row(
                line=n,
                urn=urn,
                provision=provision,
                secure=provision == SECURE,
                local_authority=cell(r, "local_authority"),
                sector=sector[:1].upper() + sector[1:].lower(),
                places=_places(places),
                kind=kind,
                event_type=event_type,
                date=parse_date(cell(r, "date"), name, n),
                number=cell(r, "number"),
                judgement=cell(r, "judgement"),
                status=cell(r, "status"),
                education=cell(r, "education"),
            )
        )
    return out


def read_file(path: Path) -> ParsedFile:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    return parse_text(decode(data), Path(path).name)


# -- mapping onto the store ---------------------------------------------------------------------


@dataclass
class State:
    """What the database already holds that the mapping depends on (updated as files are planned)."""

    homes: dict[str, Home]
    event_ids: set[str]
    latest: dict[str, dt.date]  # home id -> date of its latest Ofsted event already imported
    closed: set[str] = field(default_factory=set)  # homes whose latest row says not registered

    def by_urn(self) -> dict[str, str]:
        return {h.urn.upper(): h.id for h in self.homes.values() if h.urn}


@dataclass
class FilePlan:
    path: str
    data_rows: int
    kept_rows: int
    homes_new: list[Home]
    homes_changed: list[Home]
    events: list[Event]
    known_events: int
    skipped: Counter[str]
    closed: int = 0  # homes no longer registered (resigned, cancelled) after this file


def home_id_for(urn: str) -> str:
    return HOME_ID_BAD.sub("-", urn.lower()).strip("-") or "urn"


def label(urn: str, local_authority: str) -> str:
    return f"{urn} ({local_authority})" if local_authority else urn


def events_for(row: Row, home: Home) -> list[Event]:
    """The events one row records: the inspection, and for a full inspection of a secure home
    with an education judgement, the ``ofsted-education`` event it also is."""
    ev = event_for(row, home)
    if not (row.kind == FULL and row.secure and row.education):
        return [ev]
    edu = Event(
        id=f"{ev.id}-education",
        home=home.id,
        rule=EDUCATION,
        date=row.date,
        by="Ofsted",
        outcome=row.education,
        notes=f"{ev.notes}: its education judgement (outcomes in education and related learning)",
    )
    return [ev, edu]


def event_for(row: Row, home: Home) -> Event:
    rule = RULES.get(row.kind, RECORD_ONLY)
    if row.kind == INTERIM and not row.secure:
        rule = RECORD_ONLY  # the interim rule applies to secure homes only: kept, satisfies nothing
    number = row.number or f"{row.date.isoformat()}-{_norm(row.event_type).replace(' ', '-')}"
    notes = f"Ofsted {row.event_type}" + (f", event number {row.number}" if row.number else "")
    if rule == RECORD_ONLY and row.kind == INTERIM:
        notes += "; interim inspection of a home that is not secure: on record, satisfies no rule"
    return Event(
        id=f"{ID_PREFIX}{row.urn.lower()}-{number}",
        home=home.id,
        rule=rule,
        date=row.date,
        by="Ofsted",
        outcome=row.judgement or None,
        notes=notes,
    )


def plan_file(parsed: ParsedFile, state: State, since: dt.date | None = None) -> FilePlan:
    """What importing ``parsed`` changes, given ``state`` (which it updates to the result).

    A home's register details (provision, secure, local authority, sector, places) come from its
    most recent inspection, wherever that was read: importing an older file after a newer one
    changes nothing. The name of a home the import created follows its local authority; names
    given by users, their ``since``, ``yjb`` and ``nation`` are never changed.
    """
    urns = state.by_urn()
    newest: dict[str, Row] = {}
    for row in parsed.rows:
        cur = newest.get(row.urn)
        if cur is None or row.date >= cur.date:
            newest[row.urn] = row
    plan = FilePlan(parsed.path, parsed.data_rows, len(parsed.rows), [], [], [], 0, parsed.skipped)
    for urn, row in newest.items():
        hid = urns.get(urn) or home_id_for(urn)
        old = state.homes.get(hid)
        if state.latest.get(hid, dt.date.min) <= row.date:
            if row.status and row.status.lower() not in ("active", "suspended"):
                state.closed.add(hid)
            else:
                state.closed.discard(hid)
        if old is None:
            h = Home(
                hid,
                label(urn, row.local_authority),
                "england",
                secure=row.secure,
                since=since,
                urn=urn,
                local_authority=row.local_authority or None,
                sector=row.sector or None,
                places=row.places,
                provision=row.provision,
            )
            plan.homes_new.append(h)
            state.homes[hid] = h
            urns[urn] = hid
            continue
        if state.latest.get(hid, dt.date.min) > row.date:
            continue  # the database knows a more recent inspection: keep its details
        auto_name = old.name == urn or old.name.startswith(f"{urn} (")
        new = replace(
            old,
            name=label(urn, row.local_authority or old.local_authority or "")
            if auto_name
            else old.name,
            secure=row.secure,
            urn=urn,
            local_authority=row.local_authority or old.local_authority,
            sector=row.sector or old.sector,
            places=row.places if row.places is not None else old.places,
            provision=row.provision,
        )
        if new != old:
            plan.homes_changed.append(new)
            state.homes[hid] = new
    seen: set[str] = set()
    for row in parsed.rows:
        home = state.homes[urns[row.urn]]
        evs = events_for(row, home)
        if evs[0].id in seen:
            plan.skipped["the same event twice in the file"] += 1
            continue
        seen.add(evs[0].id)
        for ev in evs:
            if ev.id in state.event_ids:
                plan.known_events += 1
                continue
            plan.events.append(ev)
            state.event_ids.add(ev.id)
    for ev in plan.events:
        if ev.date > state.latest.get(ev.home, dt.date.min):
            state.latest[ev.home] = ev.date
    plan.closed = len(state.closed)
    return plan


def load_state(store: Store | None) -> State:
    """The homes, imported Ofsted event ids and latest Ofsted dates of a database (or none)."""
    if store is None:
        return State({}, set(), {})
    conn = store.conn
    # a range on the unique index: no full scan of a national log
    ids = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM events WHERE id >= ? AND id < ?", (ID_PREFIX, ID_PREFIX[:-1] + ".")
        )
    }
    latest: dict[str, dt.date] = {}
    for home, day in conn.execute(
        "SELECT home, max(date) FROM events WHERE id >= ? AND id < ? GROUP BY home",
        (ID_PREFIX, ID_PREFIX[:-1] + "."),
    ):
        latest[home] = dt.date.fromisoformat(day)
    return State({h.id: h for h in store.homes()}, ids, latest)


@dataclass
class FileResult:
    path: str
    data_rows: int
    kept_rows: int
    homes_added: int
    homes_updated: int
    events_added: int
    education_added: int  # of events_added, the ofsted-education events of full inspections
    events_known: int
    skipped: dict[str, int]
    closed: int

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())


def plan_files(
    parsed: Sequence[ParsedFile], state: State, since: dt.date | None = None
) -> list[FilePlan]:
    return [plan_file(p, state, since) for p in parsed]


def merge_reasons(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Skip reasons counted once per meaning, most frequent first.

    Ofsted spells some labels differently from year to year ("Secure Training Centre" in most
    years, "Secure training centre" in 2015-16): reasons equal but for case, spacing, dashes or
    quotes (as :func:`_norm` compares them) are one reason, shown in the spelling with most rows
    (the first in sort order on a tie), so the label does not depend on the order of the files.
    """
    spellings: dict[str, Counter[str]] = {}
    for why, n in counts:
        spellings.setdefault(_norm(why), Counter())[why] += n
    merged = {min(c, key=lambda w: (-c[w], w)): c.total() for c in spellings.values()}
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def result_of(plan: FilePlan, added: int | None = None, updated: int | None = None) -> FileResult:
    return FileResult(
        plan.path,
        plan.data_rows,
        plan.kept_rows,
        len(plan.homes_new) if added is None else added,
        len(plan.homes_changed) if updated is None else updated,
        len(plan.events),
        sum(1 for e in plan.events if e.rule == EDUCATION),
        plan.known_events,
        merge_reasons(plan.skipped.items()),
        plan.closed,
    )


def read_files(paths: Sequence[Path]) -> list[ParsedFile]:
    """Read and check every file: a bad one stops the import before anything is written."""
    return [read_file(p) for p in paths]


def import_files(
    store: Store | None,
    parsed: Sequence[ParsedFile],
    *,
    dry_run: bool = False,
    since: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Write each file (read by :func:`read_files`) in its own transaction. ``dry_run`` reports
    the same figures and writes nothing; ``store`` may then be None (no database yet)."""
    state = load_state(store)
    results: list[FileResult] = []
    for pf in parsed:
        plan = plan_file(pf, state, since)
        if dry_run or store is None:
            results.append(result_of(plan))
        else:
            with store.transaction():
                added, updated = store.put_homes([*plan.homes_new, *plan.homes_changed])
                store.append_events_bulk(plan.events, origin=ORIGIN_PREFIX + pf.path)
            results.append(result_of(plan, added, updated))
        if progress is not None:
            progress(pf.data_rows)
    return results


def summarise(results: Iterable[FileResult]) -> FileResult:
    rs = list(results)
    skipped = merge_reasons(kv for r in rs for kv in r.skipped.items())
    return FileResult(
        "total",
        sum(r.data_rows for r in rs),
        sum(r.kept_rows for r in rs),
        sum(r.homes_added for r in rs),
        sum(r.homes_updated for r in rs),
        sum(r.events_added for r in rs),
        sum(r.education_added for r in rs),
        sum(r.events_known for r in rs),
        skipped,
        rs[-1].closed if rs else 0,
    )

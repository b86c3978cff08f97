"""RFC 5545 calendars from occurrences: one all-day VEVENT per occurrence, byte-stable.

Pure: no clock, no database. The caller (:mod:`compliance.feeds`) chooses the occurrences and
works out, from the log, each one's SEQUENCE and last change (:class:`Stamp`); this module turns
them into bytes. Two calls with equal inputs give identical bytes, so a hash of the body is a
strong ETag and clients never see duplicate events (UIDs derive from occurrence ids).

A calendar is written as a stream: :func:`calendar_head`, each event's :func:`vevent` in
:func:`event_key` order, :data:`CALENDAR_END`; icalendar builds and serialises every piece.
``icalendar`` is imported inside the functions so that importing this module (and the ``--help``
and ``due`` paths) stays light.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import Occurrence
from .service import Item

if TYPE_CHECKING:
    import icalendar

ONE_DAY = dt.timedelta(days=1)
PRODID = "-//compliance//compliance calendar feed//EN"
TIMEZONE = "Europe/London"
# Hints only: Outlook honours X-PUBLISHED-TTL, Apple REFRESH-INTERVAL, Google neither.
REFRESH = dt.timedelta(hours=1)

# What SUMMARY and CATEGORIES call each status. "upcoming" shows as "due": the line between them
# (the lead time) moves every day and is not worth a revision of every event.
SHOWN = {
    "overdue": "OVERDUE",
    "due": "due",
    "upcoming": "due",
    "done": "done",
    "late": "done late",
    "waived": "waived",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Stamp:
    """When an occurrence last changed (UTC) and how many times (its SEQUENCE)."""

    sequence: int
    modified: dt.datetime


def uid_for(occurrence_id: str) -> str:
    """``home/rule/period`` -> ``home.rule.period@compliance``: stable, injective, no personal data.

    Characters other than letters, digits, ``-`` and ``_`` in a part are written ``%XX`` (so a
    ``.`` inside a part cannot be confused with the separator).
    """

    def esc(part: str) -> str:
        return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), part)

    return ".".join(esc(p) for p in occurrence_id.split("/")) + "@compliance"


def shown_status(occ: Occurrence) -> str:
    return SHOWN.get(occ.status, occ.status)


def category(text: str) -> str:
    """A category without commas or semicolons: RFC 5545 allows them escaped, but some parsers
    (the ``ical`` package, for one) split escaped commas anyway."""
    return re.sub(r"\s*[,;]\s*", " ", text).strip()


def summary(item: Item) -> str:
    """What a month view shows: the state first, then what, then where."""
    return f"{shown_status(item.occ)}: {item.title} – {item.home.name}"


def _state_line(occ: Occurrence) -> str:
    if occ.status == "overdue":
        return f"Status: OVERDUE since {occ.due + ONE_DAY} (due {occ.due})"
    if occ.status in ("due", "upcoming"):
        return f"Status: due {occ.due}"
    if occ.status == "waived":
        return f"Status: waived on {occ.done_on}" + (f": {occ.reason}" if occ.reason else "")
    late = " (late)" if occ.status == "late" else ""
    return f"Status: done on {occ.done_on}{late}"


def description(item: Item) -> str:
    """The window, source and basis, and the explanation (``compliance why``) without the day count.

    The step that says how many days are left as of today is left out: it would change every
    event every day. The state line says the same in words that only change when the state does.
    """
    o, r = item.occ, item.rule
    lines = [
        f"{item.home.name}: {item.title}",
        _state_line(o),
        f"Window: {o.window_start} to {o.due}",
        f"Source: {r.source}",
        f"Basis: {r.basis}",
    ]
    if r.url:
        lines.append(f"Reference: {r.url}")
    steps = [s for s in o.steps if not s.startswith("As of ")]
    if steps:
        lines += ["", "Why:"]
        lines += [f"{n}. {s}" for n, s in enumerate(steps, start=1)]
    lines += ["", f"Occurrence {o.id}: 'compliance why {o.id}' explains it in full."]
    return "\n".join(lines)


CALENDAR_END = b"END:VCALENDAR\r\n"


def event_key(item: Item) -> tuple[dt.date, str]:
    """The order of a calendar's events: due date, then occurrence id (a total order: ids are
    unique in a calendar)."""
    return (item.occ.due, item.occ.id)


def _calendar(name: str, description_text: str | None) -> icalendar.Calendar:
    """A calendar with its properties and no events."""
    from icalendar import Calendar, vDuration, vText

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # vText explicitly: icalendar writes NAME and X- properties unescaped otherwise, and a comma
    # in a home's name would then be invalid TEXT (one invalid line can make Google drop a feed).
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    if description_text:
        cal.add("description", description_text)
        cal.add("x-wr-caldesc", vText(description_text))
    cal.add("x-wr-timezone", TIMEZONE)
    # icalendar writes REFRESH-INTERVAL without the VALUE=DURATION RFC 7986 requires, and a
    # timedelta X-PUBLISHED-TTL as "1:00:00": give both as explicit durations.
    cal.add("refresh-interval", vDuration(REFRESH, params={"VALUE": "DURATION"}))
    cal.add("x-published-ttl", vDuration(REFRESH))
    return cal


def _event(item: Item, st: Stamp) -> icalendar.Event:
    """One occurrence as an all-day VEVENT."""
    from icalendar import Event

    o = item.occ
    modified = st.modified.astimezone(dt.UTC).replace(microsecond=0)
    ev = Event()
    ev.add("uid", uid_for(o.id))
    ev.add("dtstamp", modified)
    ev.add("last-modified", modified)
    ev.add("sequence", st.sequence)
    ev.add("dtstart", o.due)  # a date: DTSTART;VALUE=DATE
    ev.add("dtend", o.due + ONE_DAY)  # exclusive end of an all-day event
    ev.add("summary", summary(item))
    ev.add("description", description(item))
    ev.add("categories", [category(item.home.name), item.rule.key, shown_status(o)])
    ev.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    if item.home.url:
        ev.add("url", item.home.url)
    return ev


def calendar_head(name: str, *, description_text: str | None = None) -> bytes:
    """The start of a calendar written as a stream: ``BEGIN:VCALENDAR`` and the calendar's
    properties, serialised by icalendar (an empty calendar without its ``END`` line). The
    calendar is ``calendar_head(...)``, each event's :func:`vevent` in :func:`event_key` order,
    then :data:`CALENDAR_END`: the bytes of :func:`build_calendar`, since icalendar serialises
    each content line on its own (a test compares the two)."""
    body = bytes(_calendar(name, description_text).to_ical())
    if not body.endswith(CALENDAR_END):  # pragma: no cover - icalendar changed its output
        raise RuntimeError("icalendar did not end an empty calendar with END:VCALENDAR")
    return body[: -len(CALENDAR_END)]


def vevent(item: Item, stamp: Stamp) -> bytes:
    """One occurrence's VEVENT, as icalendar serialises it (UTF-8, CRLF, folded at 75 octets).

    DTSTAMP and LAST-MODIFIED are the stamp's ``modified`` (never "now"): unchanged data gives
    identical bytes."""
    return bytes(_event(item, stamp).to_ical())


def build_calendar(
    name: str,
    items: Iterable[Item],
    stamps: Mapping[str, Stamp],
    *,
    description_text: str | None = None,
) -> bytes:
    """The whole calendar as one icalendar ``Calendar`` (UTF-8, CRLF, lines folded at 75 octets),
    events in :func:`event_key` order; a duplicate occurrence is refused.

    The commands write calendars as streams (:func:`calendar_head`, :func:`vevent`, in
    :func:`compliance.feeds.stream`), a few hundred homes at a time; this builder holds every event
    at once and is what the stream must equal, byte for byte (the tests compare them).
    ``stamps`` maps each occurrence id to its :class:`Stamp`.
    """
    cal = _calendar(name, description_text)
    seen: set[str] = set()
    for item in sorted(items, key=event_key):
        uid = uid_for(item.occ.id)
        if uid in seen:  # clients silently keep one of two events sharing a UID
            raise ValueError(f"duplicate occurrence {item.occ.id} in a calendar")
        seen.add(uid)
        cal.add_component(_event(item, stamps[item.occ.id]))
    return bytes(cal.to_ical())

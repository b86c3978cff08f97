"""Regenerate the excerpts in this directory from Ofsted's published files (bytes kept as published).

    python tests/data/ofsted/excerpt.py /path/to/ofsted/csvs

Keeps each file's preamble, header, byte-order mark, encoding and line endings, and these data
lines: every secure children's home; a fixed set of children's homes (URNs found in at least three
of the years, first twelve in URN order, plus homes with monitoring inspections and residential
special schools registered as children's homes); the first two rows of a few other provision
types and every emergency inspection (which the importer skips or keeps on record).

The homes are chosen from the years in YEARS; the years in EXTRA are cut with the same choice,
so adding one leaves the other excerpts as they were (2015-16: the only year that spells the
provision type "Secure training centre", and one without an education judgement column).
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from pathlib import Path

YEARS = ("2014-15", "2016-17", "2021-22", "2022-23", "2023-24")
EXTRA = ("2015-16",)
HERE = Path(__file__).resolve().parent


def _decode(b: bytes) -> str:
    try:
        return b.decode("utf-8-sig")
    except UnicodeDecodeError:
        return b.decode("cp1252")


def _table(raw: bytes) -> tuple[list[bytes], int, list[list[str]]]:
    lines = raw.split(b"\r\n")
    rows = [next(csv.reader(io.StringIO(_decode(ln)))) if ln else [] for ln in lines]
    head = next(i for i, r in enumerate(rows) if r and r[0].lstrip("\ufeff") == "Web link")
    return lines, head, rows


def main(src: Path) -> None:
    tables = {
        y: _table((src / f"provider-level-in-year-{y}.csv").read_bytes()) for y in YEARS + EXTRA
    }
    seen: Counter[str] = Counter()
    monitored: list[str] = []
    rss: list[str] = []
    for y in YEARS:
        _lines, head, rows = tables[y]
        h = rows[head]
        pt = h.index("Provision type")
        et = next(
            i
            for i, c in enumerate(h)
            if c in ("Inspection type", "Event type", "Inspection event type")
        )
        urns = set()
        for r in rows[head + 1 :]:
            if not r:
                continue
            if r[pt].lower() in ("children's home",):
                urns.add(r[1])
                if "onitoring" in r[et] and len(monitored) < 4 and r[1] not in monitored:
                    monitored.append(r[1])
            if "registered as a children" in r[pt] and len(rss) < 3 and r[1] not in rss:
                rss.append(r[1])
        seen.update(urns)
    chosen = set(sorted(u for u, n in seen.items() if n >= 3)[:12]) | set(monitored) | set(rss)
    for y, (lines, head, rows) in tables.items():
        h = rows[head]
        pt = h.index("Provision type")
        et = next(
            i
            for i, c in enumerate(h)
            if c in ("Inspection type", "Event type", "Inspection event type")
        )
        others: Counter[str] = Counter()
        keep = list(lines[: head + 1])
        for ln, r in zip(lines[head + 1 :], rows[head + 1 :], strict=True):
            if not r:
                continue
            p = r[pt]
            if p.lower().startswith("secure children") or r[1] in chosen or "mergency" in r[et]:
                keep.append(ln)
            elif (
                p
                in (
                    "Independent Fostering Agency",
                    "Secure Training Centre",
                    "Secure training centre",
                    "Residential Special School",
                    "Residential special school (>295 days/year)",
                )
                and others[p] < 2
            ):
                others[p] += 1
                keep.append(ln)
        (HERE / f"provider-level-in-year-{y}.csv").write_bytes(b"\r\n".join(keep) + b"\r\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

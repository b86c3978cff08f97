"""Sorted runs of serialised calendar events, kept in an anonymous temporary file and merged.

A calendar of every home of a national network is about 185 MB, and its events go in one order
(due date, then occurrence id) across all homes, while they are computed a few hundred homes at
a time. Each batch's events, sorted, are appended to one temporary file as a *run*; reading
merges runs (:func:`heapq.merge`) through small buffers. So memory holds neither the calendar
nor its events, only one batch while it is computed: an external merge sort.

The file is created unlinked (:func:`tempfile.TemporaryFile`), in the usual temporary directory
(``TMPDIR``): nothing is left behind, even if the process is killed. Pure standard library.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO

# One record: due date (proleptic ordinal), then the lengths of the occurrence id, the rule key
# and the VEVENT's bytes, then those three.
_HEAD = struct.Struct("<IIII")
READ_BUDGET = 8 * 1024 * 1024  # bytes of read buffers shared by the runs of one merge
MIN_BUFFER = 4 * 1024
MAX_BUFFER = 256 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One serialised event and what orders and filters it."""

    due: dt.date
    id: str  # occurrence id
    rule: str  # rule key
    body: bytes  # the VEVENT, as icalendar wrote it

    @property
    def key(self) -> tuple[dt.date, str]:
        return (self.due, self.id)


@dataclass(frozen=True, slots=True)
class Run:
    """Where one sorted run lies in the spill file, and how many records it holds."""

    start: int
    end: int
    count: int


class Spill:
    """An append-only temporary file of sorted runs. Use as a context manager (closes the file)."""

    def __init__(self, directory: str | None = None) -> None:
        # closed by close() (or the with statement): the file outlives this call by design
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self._end = 0

    def __enter__(self) -> Spill:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def add(self, records: Iterable[Record]) -> Run:
        """Append a run; ``records`` must already be in :attr:`Record.key` order."""
        start, count, previous = self._end, 0, None
        f = self._file
        f.seek(start)
        for r in records:
            if previous is not None and r.key < previous:
                raise ValueError(f"a spilled run must be sorted: {r.id} after {previous[1]}")
            previous = r.key
            oid, rule = r.id.encode("utf-8"), r.rule.encode("utf-8")
            f.write(_HEAD.pack(r.due.toordinal(), len(oid), len(rule), len(r.body)))
            f.write(oid)
            f.write(rule)
            f.write(r.body)
            self._end += _HEAD.size + len(oid) + len(rule) + len(r.body)
            count += 1
        f.flush()  # the readers read the file descriptor, not this buffer
        return Run(start, self._end, count)

    def records(self, run: Run, *, buffer: int = MAX_BUFFER) -> Iterator[Record]:
        """The records of a run, in order, read ``buffer`` bytes at a time (more for a record
        larger than that)."""
        fd = self._file.fileno()
        pos, data, at = run.start, b"", 0

        def fill(need: int) -> None:
            nonlocal pos, data, at
            want = max(need - (len(data) - at), buffer)
            chunk = os.pread(fd, min(want, run.end - pos), pos)
            if len(data) - at + len(chunk) < need:
                raise OSError(f"the calendar's spill file ended early at byte {pos}")
            pos += len(chunk)
            data, at = data[at:] + chunk, 0

        for _ in range(run.count):
            if len(data) - at < _HEAD.size:
                fill(_HEAD.size)
            day, n_id, n_rule, n_body = _HEAD.unpack_from(data, at)
            size = _HEAD.size + n_id + n_rule + n_body
            if len(data) - at < size:
                fill(size)
            i = at + _HEAD.size
            j, k = i + n_id, i + n_id + n_rule
            yield Record(
                dt.date.fromordinal(day),
                data[i:j].decode("utf-8"),
                data[j:k].decode("utf-8"),
                data[k : at + size],
            )
            at += size

    def merge(self, runs: Sequence[Run], rules: Iterable[str] | None = None) -> Iterator[bytes]:
        """The bodies of every record of ``runs`` (of ``rules`` only, when given) in key order."""
        buffer = max(MIN_BUFFER, min(MAX_BUFFER, READ_BUDGET // max(len(runs), 1)))
        streams = [self.records(r, buffer=buffer) for r in runs if r.count]
        wanted = frozenset(rules) if rules is not None else None
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_key)
        for r in merged:
            if wanted is None or r.rule in wanted:
                yield r.body


def _key(r: Record) -> tuple[dt.date, str]:
    return (r.due, r.id)

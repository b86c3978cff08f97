"""TOML with line numbers, read a chunk at a time: ``tomli`` gives values, a light scan of the
lines gives their positions.

Errors in fixtures and rule files must name the file, the line and the field; the parser keeps no
positions, so :class:`Locator` maps (table, index, key) to the line where it was written. It keeps
one line and one byte offset per array-of-tables entry and finds a key's line when asked, by
reading that entry again: a national fixture has millions of keys.

``tomli`` is the parser the standard library vendors as ``tomllib`` (same TOML 1.0, same errors);
its compiled wheel parses about twice as fast. A large file is not parsed whole: it is cut before
top-level ``[[table]]`` headers into chunks of about :data:`CHUNK_BYTES`, each parsed on its own,
and their tables are put together. That is the document the whole file gives, or the difference
is detected and the whole file is parsed instead:

- a cut inside a multi-line string or array leaves the chunk before it unparseable; so when every
  chunk before a cut parses, the cut is at a statement and the line after it really is a header;
- a chunk that starts with a header has only arrays of tables as lists at its top level, and they
  append to the arrays of the same names, as in the whole document;
- anything else that two chunks both define (a table cut in two, a static array and an array of
  tables of one name) is a conflict.

A chunk's syntax error at a line is an error of the file at that line (the chunk starts at a
statement); one at the chunk's end may come from a cut inside a string, so the whole file decides.
"""

from __future__ import annotations

import io
import pickle
import re
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import tomli

from .errors import FixtureError, TemporarySpace

# on the raw lines (bytes): a national fixture has millions, and only these few are ever decoded
_HEADER = re.compile(rb"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(rb"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(rb"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
_BRACKETED = re.compile(rb"^[^\S\n]*\[[^\n]*\n?", re.M)  # a line that starts with "["
_TOML_LINE = re.compile(r"at line (\d+), column (\d+)")
_BOM = b"\xef\xbb\xbf"

CHUNK_BYTES = 1 << 20  # a chunk of a large file: about a megabyte of TOML, ~10 MB parsed
KEEP_BYTES = 4 << 20  # TOML a set of files keeps parsed in memory; the rest waits on disk


@dataclass(eq=False)
class Locator:
    """Where each table entry and key was written in a TOML text."""

    name: str
    # each array of tables: the line of each entry's header, and its byte offset in the text
    heads: dict[str, array[int]] = field(default_factory=dict)
    offsets: dict[str, array[int]] = field(default_factory=dict)
    # the other tables (the root, [network], sub-tables) and their keys, looked up eagerly
    tables: dict[tuple[str, int], int] = field(default_factory=dict)
    keys: dict[tuple[str, int, str], int] = field(default_factory=dict)
    # opens the text again (bytes), to find the keys of one entry
    reopen: Callable[[], IO[bytes]] | None = None
    _last: tuple[str, int, dict[str, int]] | None = None

    def table_line(self, table: str, index: int, default: int = 1) -> int:
        heads = self.heads.get(table)
        if heads is not None and 0 <= index < len(heads):
            return heads[index]
        return self.tables.get((table, index), default)

    def between(self, table: str, start: int, end: int) -> list[int]:
        """The indices of ``table``'s entries whose header is after line ``start``, before ``end``."""
        found = {i for i, ln in enumerate(self.heads.get(table, ())) if start < ln < end}
        found |= {i for (t, i), ln in self.tables.items() if t == table and start < ln < end}
        return sorted(found)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int:
        heads = self.heads.get(table)
        if heads is not None and 0 <= index < len(heads):
            if key is None:
                return heads[index]
            return self._entry_keys(table, index).get(key, heads[index])
        if key is not None and (table, index, key) in self.keys:
            return self.keys[(table, index, key)]
        return self.tables.get((table, index), 1)

    def error(self, table: str, index: int, key: str | None, message: str) -> FixtureError:
        label = key or table
        if table not in ("", "network") and key is not None:
            label = f"{table}[{index}].{key}" if table != "" else key
        elif key is None and table:
            label = f"{table}[{index}]"
        return FixtureError(self.name, self.line(table, index, key), label, message)

    def _entry_keys(self, table: str, index: int) -> dict[str, int]:
        """The first line of each key of one entry: its lines are read again, up to the next
        header (an entry is never split: TOML cannot return to a table after a sub-table)."""
        if self._last is not None and self._last[:2] == (table, index):
            return self._last[2]
        found: dict[str, int] = {}
        if self.reopen is not None:
            with self.reopen() as f:
                f.seek(self.offsets[table][index])
                n = self.heads[table][index]
                f.readline()  # the header
                quote: bytes | None = None
                for raw in f:
                    n += 1
                    if quote:
                        if raw.count(quote) % 2 == 1:
                            quote = None
                        continue
                    if _HEADER.match(raw) or _TABLE.match(raw):
                        break
                    m = _KEY.match(raw)
                    if m:
                        found.setdefault(_key(m), n)
                        quote = _opens(raw)
        self._last = (table, index, found)
        return found


_QUOTES = (b'"""', b"'''")


def _opens(line: bytes) -> bytes | None:
    """The quotes of a multi-line string a key's line leaves open (a light check, as ever)."""
    for quote in _QUOTES:
        if line.count(quote) % 2 == 1:
            return quote
    return None


def _key(m: re.Match[bytes]) -> str:
    return m.group(1).decode("utf-8", "replace").strip('"')


class _Scanner:
    """Feeds a :class:`Locator` a line, or a block of lines, at a time."""

    def __init__(self, loc: Locator) -> None:
        self.loc = loc
        self.current: tuple[str, int] = ("", 0)
        self.in_array = False  # the current table is an entry of an array of tables
        self.quote: bytes | None = None  # inside a multi-line string opened by these quotes
        loc.tables[self.current] = 1

    def feed(self, n: int, offset: int, raw: bytes) -> str | None:
        """Scan line ``n`` (its bytes at ``offset``); returns the table's name if it is the
        header of an entry of a top-level array of tables (where a chunk may be cut)."""
        loc = self.loc
        if self.quote:
            if raw.count(self.quote) % 2 == 1:
                self.quote = None
            return None
        if self.in_array and raw.lstrip()[:1] != b"[" and b'"""' not in raw and b"'''" not in raw:
            return None  # a key of an array entry: found when asked (nearly every line)
        m = _HEADER.match(raw)
        if m:
            table = m.group(1).decode()
            if table not in loc.heads:
                loc.heads[table], loc.offsets[table] = array("l"), array("q")
            self.current = (table, len(loc.heads[table]))
            loc.heads[table].append(n)
            loc.offsets[table].append(offset)
            self.in_array = True
            return None if "." in table else table
        m = _TABLE.match(raw)
        if m:
            # a sub-table of an array entry ("rules.examples") keeps the parent's index
            table = m.group(1).decode()
            self.current = (table, len(loc.heads[table]) - 1 if table in loc.heads else 0)
            self.in_array = False
            loc.tables.setdefault(self.current, n)
            return None
        m = _KEY.match(raw)
        if m:
            if not self.in_array:
                loc.keys.setdefault((*self.current, _key(m)), n)
            self.quote = _opens(raw)
        return None

    def feed_block(self, block: bytes, n: int, offset: int) -> Iterator[tuple[int, int]]:
        """Scan whole lines ``block`` (the first is line ``n``, at ``offset``); yields the
        (offset, line) of each header of a top-level array of tables. Where no multi-line string
        can start or end, only a line that starts with "[" changes anything (nearly every line
        of a national fixture is a key of an array entry), so only those are looked at."""
        if self.quote or b'"""' in block or b"'''" in block:
            for line in io.BytesIO(block):
                if self.feed(n, offset, line) is not None:
                    yield offset, n
                n, offset = n + 1, offset + len(line)
            return
        pos = 0
        for m in _BRACKETED.finditer(block):
            if not self.in_array:
                self._keys(block, pos, m.start(), n)
            n += block.count(b"\n", pos, m.start())
            pos = m.start()
            if self.feed(n, offset + pos, m.group()) is not None:
                yield offset + pos, n
        if not self.in_array:
            self._keys(block, pos, len(block), n)

    def _keys(self, block: bytes, start: int, end: int, n: int) -> None:
        """The keys of a table that is not an array entry, in lines with no "[" at their start."""
        for line in block[start:end].split(b"\n"):
            m = _KEY.match(line)
            if m:
                self.loc.keys.setdefault((*self.current, _key(m)), n)
            n += 1


@dataclass(eq=False)
class Document:
    """A parsed TOML file: ``head`` holds every top-level key but the ``bulk`` tables, whose
    entries :meth:`parts` gives a part of the file at a time (read again if the file is large)."""

    name: str
    head: dict[str, Any]
    loc: Locator
    bulk: tuple[str, ...] = ()
    kept: list[dict[str, Any]] | None = None  # the bulk tables' parts, when the file was small
    # ... or, for a large file, pickled one after another in a private temporary file (written
    # by this process: unpickling it is reading back our own values, ~10 times faster than TOML)
    spool: IO[bytes] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The whole document (a large file's bulk tables are all read into memory)."""
        out = dict(self.head)  # (it holds no bulk table: the parts' lists are copied once)
        for part in self.parts():
            for k, v in part.items():
                if isinstance(v, list) and isinstance(out.get(k), list):
                    out[k].extend(v)
                else:
                    out[k] = list(v) if isinstance(v, list) else v
        return out

    def parts(self) -> Iterator[dict[str, Any]]:
        """The bulk tables, part after part, in the order of the file."""
        if self.kept is not None:
            yield from self.kept
            return
        assert self.spool is not None
        self.spool.seek(0)
        while True:
            try:
                part: dict[str, Any] = pickle.load(self.spool)
            except EOFError:
                return
            yield part

    def close(self) -> None:
        """Remove the spool now (else when the Document is dropped)."""
        if self.spool is not None:
            self.spool.close()


class Memory:
    """How many more bytes of TOML a set of files may keep parsed in memory until they are
    validated (~10 times as much as objects); the parts beyond wait in a temporary file. One
    budget for the set: a network split into many files holds no more than one large file."""

    def __init__(self, limit: int | None = None) -> None:
        self.left = KEEP_BYTES if limit is None else limit


class _Conflict(Exception):
    """Two chunks define the same key: the whole file is parsed instead."""


def load_text(text: str, name: str) -> tuple[dict[str, Any], Locator]:
    """Parse TOML text; a syntax error becomes a FixtureError at its line."""
    doc = _whole(text.encode("utf-8"), name, ())
    return doc.head, doc.loc


def load_path(path: Path, bulk: Iterable[str] = (), memory: Memory | None = None) -> Document:
    """Read and parse a TOML file, a chunk at a time; unreadable or non-UTF-8 files are one-line
    errors. The ``bulk`` tables' parts are kept for :meth:`Document.parts` while ``memory``
    allows (one file's budget if not given), in a temporary file beyond it."""
    name = str(path)
    bulk = tuple(bulk)
    try:
        with path.open("rb") as f:
            return _chunked(f, path, bulk, Memory() if memory is None else memory)
    except _Conflict:
        pass
    except FileNotFoundError:
        raise FixtureError(name, 0, "", "no such file") from None
    except IsADirectoryError:
        raise FixtureError(name, 0, "", "is a directory, not a TOML file") from None
    except OSError as exc:
        raise FixtureError(name, 0, "", f"cannot read: {exc.strerror}") from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FixtureError(name, 0, "", f"cannot read: {exc.strerror}") from None
    return _whole(raw, name, bulk)


def _chunked(f: IO[bytes], path: Path, bulk: tuple[str, ...], memory: Memory) -> Document:
    name = str(path)
    loc = Locator(name, reopen=lambda: path.open("rb"))
    scan = _Scanner(loc)
    head: dict[str, Any] = {}
    static: set[str] = set()  # keys that no other chunk may define
    arrays: set[str] = set()  # arrays of tables, which later chunks append to
    kept: list[dict[str, Any]] = []
    spool: IO[bytes] | None = None  # once the file is too large to keep its parts in memory

    def take(raw: bytes, first: int, headed: bool) -> None:
        nonlocal spool
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = first + raw[: exc.start].count(b"\n")
            raise FixtureError(name, line, "", "not UTF-8 text") from None
        try:
            doc = tomli.loads(text)
        except tomli.TOMLDecodeError as exc:
            if _TOML_LINE.search(str(exc)) is None:
                # at the end of the chunk: perhaps a cut inside a multi-line string or array
                # (nothing else shows there); the whole file says whether it is an error
                raise _Conflict from None
            # The chunk starts at a statement (the chunks before it parsed) and its lines are
            # read as the whole file reads them, so this is an error of the file, at this line
            # (the first tomllib would report, unless a table is also defined twice before it).
            raise _toml_error(name, exc, first - 1) from None
        part: dict[str, Any] = {}
        for k, v in doc.items():
            if headed and isinstance(v, list):
                if k in static:
                    raise _Conflict
                arrays.add(k)
                if k in bulk:
                    part[k] = v
                else:
                    head.setdefault(k, []).extend(v)
            else:
                if k in static or k in arrays:
                    raise _Conflict
                static.add(k)
                if k in bulk:
                    part[k] = v
                else:
                    head[k] = v
        if not part:
            return
        if spool is None and len(raw) <= memory.left:
            memory.left -= len(raw)
            kept.append(part)
            return
        try:  # (not the input's fault: said apart from "cannot read" below)
            if spool is None:
                spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed with its Document)
                for p in kept:
                    pickle.dump(p, spool, pickle.HIGHEST_PROTOCOL)
                kept.clear()
            pickle.dump(part, spool, pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise TemporarySpace(exc.strerror or str(exc)) from None

    buf = bytearray()  # the chunk being read: the file's bytes from ``start``
    start = offset = 0
    n = first = 1  # the line after the last block read; the line the chunk starts at
    headed = False  # the chunk starts with a header
    cut = False
    try:
        while block := f.read(CHUNK_BYTES):
            if not block.endswith(b"\n"):
                block += f.readline()
            lead = len(_BOM) if offset == 0 and block.startswith(_BOM) else 0
            buf += block
            for at, line in scan.feed_block(block[lead:], n, offset + lead):
                if at > start + (lead if start == 0 else 0) and (
                    not cut or at - start >= CHUNK_BYTES
                ):
                    take(bytes(buf[: at - start]).removeprefix(_BOM), first, headed)
                    del buf[: at - start]
                    start, first, headed, cut = at, line, True, True
                elif at - start <= lead:
                    headed = True  # the file starts with a header
            n += block.count(b"\n")
            offset += len(block)
        take(bytes(buf).removeprefix(_BOM), first, headed)
        if spool is not None:
            try:
                spool.flush()  # what is still buffered: a full disk shows here
            except OSError as exc:
                raise TemporarySpace(exc.strerror or str(exc)) from None
    except BaseException:
        if spool is not None:
            with suppress(OSError):  # (closing flushes, and the disk may be full)
                spool.close()
        raise
    return Document(name, head, loc, bulk, None if spool else kept, spool)


def _toml_error(name: str, exc: tomli.TOMLDecodeError, offset: int = 0) -> FixtureError:
    """A syntax error as a problem of the file, at its line (``offset``: lines before the text
    that was parsed)."""
    msg = str(exc)
    m = _TOML_LINE.search(msg)
    line = int(m.group(1)) + offset if m else 1
    detail = _TOML_LINE.sub("", msg).replace("()", "").strip().rstrip(".")
    return FixtureError(name, line, "", f"not valid TOML: {detail}")


def _whole(raw: bytes, name: str, bulk: tuple[str, ...]) -> Document:
    """Parse a whole text at once (small texts, and a file whose chunks do not fit together)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FixtureError(name, line, "", "not UTF-8 text") from None
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise _toml_error(name, exc) from None
    loc = Locator(name, reopen=lambda: io.BytesIO(raw))
    lead = len(_BOM) if raw.startswith(_BOM) else 0
    for _ in _Scanner(loc).feed_block(raw[lead:], 1, lead):
        pass
    head = {k: v for k, v in data.items() if k not in bulk}
    part = {k: v for k, v in data.items() if k in bulk}
    return Document(name, head, loc, bulk, [part] if part else [])

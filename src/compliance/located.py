"""TOML with line numbers: ``tomllib`` gives values, a light scan of the text gives their lines.

Errors in fixtures and rule files must name the file, the line and the field; ``tomllib`` does not
keep positions, so :class:`Locator` maps (table, index, key) to the line where it was written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FixtureError

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
_TOML_LINE = re.compile(r"at line (\d+), column (\d+)")


@dataclass
class Locator:
    """Where each table entry and key was written in a TOML text."""

    name: str
    keys: dict[tuple[str, int, str], int] = field(default_factory=dict)
    tables: dict[tuple[str, int], int] = field(default_factory=dict)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int:
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


def scan(text: str, name: str) -> Locator:
    loc = Locator(name)
    counts: dict[str, int] = {}
    current: tuple[str, int] = ("", 0)
    loc.tables[current] = 1
    in_multiline: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        m = _HEADER.match(raw)
        if m:
            table = m.group(1)
            idx = counts.get(table, 0)
            counts[table] = idx + 1
            current = (table, idx)
            loc.tables[current] = n
            continue
        m = _TABLE.match(raw)
        if m:
            # a sub-table of an array entry ("rules.examples") keeps the parent index
            table = m.group(1)
            current = (table, counts.get(table, 1) - 1 if table in counts else 0)
            loc.tables.setdefault(current, n)
            continue
        m = _KEY.match(raw)
        if m:
            key = m.group(1).strip('"')
            loc.keys.setdefault((current[0], current[1], key), n)
            for quote in ('"""', "'''"):
                if raw.count(quote) % 2 == 1:
                    in_multiline = quote
    return loc


def load_text(text: str, name: str) -> tuple[dict[str, Any], Locator]:
    """Parse TOML text; a syntax error becomes a FixtureError at its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE.search(msg)
        line = int(m.group(1)) if m else 1
        detail = _TOML_LINE.sub("", msg).replace("()", "").strip().rstrip(".")
        raise FixtureError(name, line, "", f"not valid TOML: {detail}") from None
    return data, scan(text, name)


def load_path(path: Path) -> tuple[dict[str, Any], Locator, str]:
    """Read and parse a TOML file; unreadable or non-UTF-8 files are one-line errors."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FixtureError(name, 0, "", "no such file") from None
    except IsADirectoryError:
        raise FixtureError(name, 0, "", "is a directory, not a TOML file") from None
    except OSError as exc:
        raise FixtureError(name, 0, "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FixtureError(name, line, "", "not UTF-8 text") from None
    data, loc = load_text(text, name)
    return data, loc, text

"""Render rows as an aligned table (coloured when allowed), JSON with a schema version, or CSV.

Plain text only: no ``rich`` on the hot path. Colour is used only on a terminal and never when
``NO_COLOR`` is set (https://no-color.org); every state is also written in words.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False  # typing is not light, and the plain listings import this module
if TYPE_CHECKING:
    from typing import Any, TextIO

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "csv")

_COLOURS = {
    "overdue": "31;1",
    "due": "33",
    "upcoming": "32",
    "done": "32",
    "late": "35",
    "waived": "36",
}


def colour_enabled(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR", "") != "":
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def paint(text: str, state: str, enabled: bool) -> str:
    code = _COLOURS.get(state)
    return f"\x1b[{code}m{text}\x1b[0m" if enabled and code else text


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    colour_col: int | None = None,
    colour: bool = False,
) -> str:
    """An aligned plain-text table; ``colour_col`` names the column whose value picks the colour."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    lines = ["  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for row, raw in zip(cells, rows, strict=True):
        parts = []
        for i, v in enumerate(row):
            text = v.ljust(widths[i])
            if colour and colour_col is not None and i == colour_col:
                text = paint(text, str(raw[i]), True)
            parts.append(text)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    # text typed by users is shown literally; control characters would reach the terminal
    return "".join(ch if ch.isprintable() else "?" for ch in str(v))


def to_json(payload: dict[str, Any]) -> str:
    # one line, no indent: the C encoder is several times faster on large listings (pipe to jq)
    return json.dumps(
        {"schema_version": SCHEMA_VERSION, **payload}, ensure_ascii=False, default=str
    )


def write_csv(stream: TextIO, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV to ``stream`` as the rows come (a header line, then one line per row)."""
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    write_csv(buf, headers, rows)
    return buf.getvalue().rstrip("\n")

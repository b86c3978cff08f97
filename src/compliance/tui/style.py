"""States in colour and in words: colour is never the only signal."""

from __future__ import annotations

from rich.text import Text

STATE_STYLE = {
    "overdue": "bold white on dark_red",
    "due": "bold black on dark_orange",
    "upcoming": "",
    "done": "green",
    "late": "yellow",
    "waived": "magenta",
}
STATE_WORD = {"overdue": "OVERDUE", "due": "due", "upcoming": "upcoming"}

RAG_STYLE = {
    "red": "bold white on dark_red",
    "amber": "bold black on dark_orange",
    "green": "green",
}
RAG_WORD = {"red": "RED", "amber": "AMBER", "green": "green"}

# Calendar cells: a word (three letters fit 80 columns) and a colour for each state.
CELL = {
    "done": ("ok ", "black on green"),
    "late": ("lat", "black on yellow"),
    "missed": ("MIS", "bold white on dark_red"),
    "waived": ("wvd", "white on magenta"),
    "open": ("opn", "black on dark_orange"),
    "none": (" . ", "dim"),
}
CELL_LEGEND = [
    ("done", "done on time"),
    ("late", "done late"),
    ("missed", "missed"),
    ("waived", "waived"),
    ("open", "open"),
    ("none", "not owed"),
]


def state_text(status: str) -> Text:
    return Text(STATE_WORD.get(status, status), style=STATE_STYLE.get(status, ""))


def rag_text(rag: str) -> Text:
    return Text(RAG_WORD[rag], style=RAG_STYLE[rag])


def cell_text(state: str) -> Text:
    word, style = CELL[state]
    return Text(word, style=style)


def legend() -> Text:
    out = Text("Legend: ")
    for state, label in CELL_LEGEND:
        out.append_text(cell_text(state))
        out.append(f" {label}  ")
    return out

"""The status of an open occurrence on a day, and the order of urgency (standard library only)."""

from __future__ import annotations

import datetime as dt

TYPE_CHECKING = False  # typing is not light, and the fast route imports this module
if TYPE_CHECKING:
    from typing import TypeVar

    D = TypeVar("D", dt.date, str)

URGENCY = {"overdue": 0, "due": 1, "upcoming": 2}


def status_at(due: D, due_from: D, as_of: D) -> str:
    """C1: overdue from the day after the due date; ``due`` from ``due_from`` (the window's start
    or the lead time's, see engine.due_from); before that ``upcoming``. Dates, or ISO strings
    (all three alike: the agenda decides statuses on its stored strings)."""
    if as_of > due:
        return "overdue"
    if as_of >= due_from:
        return "due"
    return "upcoming"

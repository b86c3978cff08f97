"""The one module that reads the clock: everything else takes the date as an argument."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today() -> dt.date:
    """Today's date in Europe/London (the date every statutory duty is reckoned in)."""
    return dt.datetime.now(LONDON).date()


def now_utc() -> dt.datetime:
    """The current instant in UTC (used only to stamp when a record was written)."""
    return dt.datetime.now(dt.UTC)

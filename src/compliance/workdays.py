"""Working days (C3): weekends and the bank holidays of the nation whose law imposes the duty.

Bank holidays come from the ``holidays`` package, always with the nation's subdivision (without
one it silently drops Easter Monday and the August bank holiday), plus user overrides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

SUBDIVISIONS = {"england": "ENG", "wales": "WLS", "scotland": "SCT"}


@dataclass(frozen=True, slots=True)
class HolidayOverride:
    """A user's correction to the bank holiday list: ``op`` is "add" or "remove"."""

    nation: str
    date: dt.date
    op: str
    name: str = ""


@dataclass
class BankHolidays:
    """Bank holidays per nation, loaded lazily, with user overrides applied."""

    overrides: tuple[HolidayOverride, ...] = ()
    _cache: dict[tuple[str, int], dict[dt.date, str]] = field(default_factory=dict)

    def for_year(self, nation: str, year: int) -> dict[dt.date, str]:
        key = (nation, year)
        if key not in self._cache:
            import holidays  # imported only when a working-day rule is evaluated

            subdiv = SUBDIVISIONS[nation]
            found = holidays.country_holidays("GB", subdiv=subdiv, years=[year])
            days = {d: str(name) for d, name in found.items()}
            for o in self.overrides:
                if o.nation == nation and o.date.year == year:
                    if o.op == "add":
                        days[o.date] = o.name or "added by user"
                    else:
                        days.pop(o.date, None)
            self._cache[key] = days
        return self._cache[key]

    def name(self, nation: str, d: dt.date) -> str | None:
        return self.for_year(nation, d.year).get(d)

    def add_working_days(
        self, nation: str, start: dt.date, n: int
    ) -> tuple[dt.date, list[tuple[dt.date, str]]]:
        """C3: the Nth working day after ``start`` (counting from start + 1).

        Returns the date and the bank holidays skipped on the way (weekends are not listed).
        """
        d = start
        counted = 0
        skipped: list[tuple[dt.date, str]] = []
        while counted < n:
            d += dt.timedelta(days=1)
            if d.weekday() >= 5:
                continue
            holiday = self.name(nation, d)
            if holiday is not None:
                skipped.append((d, holiday))
                continue
            counted += 1
        return d, skipped

    def listing(self, nation: str, years: Iterable[int]) -> list[tuple[dt.date, str]]:
        out: list[tuple[dt.date, str]] = []
        for y in years:
            out.extend(sorted(self.for_year(nation, y).items()))
        return out

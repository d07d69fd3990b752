"""The ISO week a report covers: "2026-W49", from Monday 00:00 to the next Monday 00:00 in Europe/Berlin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        # 28 December is always in the last ISO week of its year
        if not 1 <= self.week <= date(self.year, 12, 28).isocalendar().week:
            raise InvalidInput("week", f"{self.year} has no ISO week {self.week}")

    @classmethod
    def parse(cls, text: str, field: str = "week") -> IsoWeek:
        """ "2026-W49" (ISO 8601 week date); a one-line InvalidInput naming `field` otherwise."""
        match = _WEEK.fullmatch(text.strip())
        if match is None:
            raise InvalidInput(field, f"{text!r} is not an ISO week such as 2026-W49")
        year, week = int(match[1]), int(match[2])
        if not 1 <= year <= 9998 or not 1 <= week <= date(year, 12, 28).isocalendar().week:
            raise InvalidInput(field, f"{year} has no ISO week {week}")
        return cls(year, week)

    @classmethod
    def of(cls, moment: datetime) -> IsoWeek:
        """The week `moment` falls in, as counted in Berlin."""
        iso = moment.astimezone(BERLIN).isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: datetime) -> IsoWeek:
        """The week before the one `now` falls in: what Monday's report covers."""
        return cls.of(now).previous()

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def start(self) -> datetime:
        """Monday 00:00 Berlin time, in UTC."""
        return datetime.combine(self.monday, time(), BERLIN).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 Berlin time, in UTC (exclusive)."""
        return datetime.combine(self.monday + timedelta(days=7), time(), BERLIN).astimezone(UTC)

    def previous(self, weeks: int = 1) -> IsoWeek:
        iso = (self.monday - timedelta(weeks=weeks)).isocalendar()
        return IsoWeek(iso.year, iso.week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

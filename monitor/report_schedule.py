"""When the weekly reports go out: "MON 07:00" (weekday and time, Europe/Berlin), the moment in each week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from monitor.errors import InvalidInput
from monitor.reports.week import BERLIN, IsoWeek

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    weekday: int  # 0 = Monday
    at: time

    @classmethod
    def parse(cls, text: str, field: str = "report_schedule") -> ReportSchedule:
        day, _, clock = text.strip().upper().partition(" ")
        if day not in WEEKDAYS:
            raise InvalidInput(field, f"{text!r}: start with a weekday {'|'.join(WEEKDAYS)}, e.g. MON 07:00")
        try:
            at = time.fromisoformat(clock.strip())
        except ValueError:
            raise InvalidInput(field, f"{text!r}: the time must be HH:MM, e.g. MON 07:00") from None
        return cls(WEEKDAYS.index(day), at.replace(second=0, microsecond=0))

    def moment_in(self, week: IsoWeek) -> datetime:
        """This schedule's moment in `week` (Berlin wall time, as UTC)."""
        day = week.monday + timedelta(days=self.weekday)
        return datetime.combine(day, self.at, BERLIN).astimezone(week.start.tzinfo)

    def due_week(self, now: datetime) -> IsoWeek | None:
        """The week whose reports are due at `now`: the last complete one, once this week's moment has passed."""
        current = IsoWeek.of(now)
        return current.previous() if now >= self.moment_in(current) else None

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.at:%H:%M}"

"""When is a check due next? Intervals, jitter, and the risk-based cadence."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.settings import Settings


@dataclass(frozen=True, slots=True)
class Cadence:
    default_interval_s: float
    jitter: float = 0.1
    risk_interval_factor: float = 0.5
    first_runs_per_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random)

    def interval_for(self, intervals: Mapping[str, float], check: str) -> float:
        return float(intervals.get(check, self.default_interval_s))

    def first_dues(self, now: datetime, queued_until: datetime | None, count: int) -> list[datetime]:
        """First runs of newly enabled checks: now, behind the first runs already waiting (`queued_until`, the
        last of them, or one due less than a step ago), one every 1/first_runs_per_s seconds. A new endpoint is
        scanned within seconds, whatever its interval; a bulk import of thousands is admitted at a bounded rate
        instead of all at once."""
        step = self.first_run_step
        start = max(now, queued_until + step) if queued_until is not None else now
        return [start + step * index for index in range(count)]

    @property
    def first_run_step(self) -> timedelta:
        return timedelta(seconds=1 / self.first_runs_per_s)

    def next_due(self, now: datetime, interval_s: float, risky: bool) -> datetime:
        """`risky`: the endpoint has open high or critical findings, so it is looked at more often."""
        base = interval_s * (self.risk_interval_factor if risky else 1.0)
        return now + timedelta(seconds=base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


def cadence_from(settings: Settings) -> Cadence:
    return Cadence(
        settings.default_interval_s, settings.jitter, settings.risk_interval_factor, settings.first_runs_per_s
    )

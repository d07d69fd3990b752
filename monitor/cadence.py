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
    rng: random.Random = field(default_factory=random.Random)

    def interval_for(self, intervals: Mapping[str, float], check: str) -> float:
        return float(intervals.get(check, self.default_interval_s))

    def first_due(self, now: datetime, interval_s: float) -> datetime:
        """Spread first runs over one interval, so 10,000 endpoints registered at once do not all run now."""
        return now + timedelta(seconds=self.rng.uniform(0, interval_s))

    def next_due(self, now: datetime, interval_s: float, risky: bool) -> datetime:
        """`risky`: the endpoint has open high or critical findings, so it is looked at more often."""
        base = interval_s * (self.risk_interval_factor if risky else 1.0)
        return now + timedelta(seconds=base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


def cadence_from(settings: Settings) -> Cadence:
    return Cadence(settings.default_interval_s, settings.jitter, settings.risk_interval_factor)

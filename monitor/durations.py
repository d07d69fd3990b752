"""Durations as operators write them: `90s`, `15m`, `1h`, `7d`."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 5.0
MAX_DURATION_S = 3650 * 86400.0  # ten years: beyond it, `timedelta` and the schedule's arithmetic overflow


def parse_duration(text: str, *, minimum_s: float = 0.0) -> float:
    """Seconds in `text`; raises ValueError with the allowed form."""
    shown = repr(text if len(text) <= 40 else text[:39] + "…")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{shown} is not a duration (use a number with s, m, h or d, e.g. 30s, 15m, 1h, 7d)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < minimum_s:
        raise ValueError(f"{shown} is shorter than the minimum of {minimum_s:g} s")
    if not seconds <= MAX_DURATION_S:
        raise ValueError(f"{shown} is longer than the maximum of 3650d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact form `parse_duration` reads back: 86400 → "1d", 900 → "15m", 90 → "90s"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"

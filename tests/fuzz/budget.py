"""Hypothesis budgets of the fuzz tests: `quick` (the default, in `make test`) and `fuzz` (`make fuzz`).

The profile is chosen by the environment variable FUZZ_PROFILE (not POSTURE_*: the settings refuse unknown ones).
It is applied per test (`@budget()`), not loaded globally, so the other property tests of the suite keep
hypothesis' own defaults whatever runs before them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("FUZZ_PROFILE", "quick")
if PROFILE not in ("quick", "fuzz"):
    raise ValueError(f"FUZZ_PROFILE must be 'quick' or 'fuzz', not {PROFILE!r}")

settings.register_profile(
    "posture-quick",
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,  # the default run is reproducible; `make fuzz` explores new inputs each time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "posture-fuzz",
    max_examples=150,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_BASE = settings.get_profile(f"posture-{PROFILE}")


def budget(share: float = 1.0) -> settings:
    """The profile's settings; `share` scales the example count for tests whose one example is expensive."""
    return settings(_BASE, max_examples=max(5, int(_BASE.max_examples * share)))

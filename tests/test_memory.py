"""The daemon caps glibc's malloc arenas unless the operator chose a number."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "from monitor.memory import limit_malloc_arenas; print(limit_malloc_arenas())"


def run_probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_arenas_are_capped_on_glibc() -> None:
    assert run_probe() == "True"


def test_the_operators_malloc_arena_max_wins() -> None:
    assert run_probe(MALLOC_ARENA_MAX="4") == "False"

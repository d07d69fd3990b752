"""Benchmark: a connect probe of the known-open ports against a full nmap scan of the same unchanged listeners.

Both through the ports check itself (PortsConfig.full_scan_every_s): the full scan as on the first run, the probe
as on every run in between. Last line: `ports_probe_ratio=R` (median probe time / median full scan time).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "checks"))

import ports_listeners as fake

from checks.base import CheckContext
from checks.ports import PortsCheck, PortsConfig
from monitor.models import CheckStatus, Target
from monitor.runner import execute

HOST = "127.0.0.33"
SERVICES = [(HOST, 22, fake.ssh), (HOST, 6379, fake.redis), (HOST, 8080, fake.http)]


async def main() -> None:
    cfg = PortsConfig(full_scan_every_s=86_400)  # the default port set, with version detection
    check, target = PortsCheck(), Target(HOST, 443)
    full_times, probe_times = [], []
    details = None
    async with fake.listening(SERVICES):
        for _ in range(3):
            started = time.perf_counter()
            full = await execute(check, target, cfg, CheckContext())
            full_times.append(time.perf_counter() - started)
            assert full.status is CheckStatus.OK, full.reason
            details = full.details
        for _ in range(20):
            started = time.perf_counter()
            quick = await execute(check, target, cfg, CheckContext(peer_details={"ports": details}))
            probe_times.append(time.perf_counter() - started)
            assert quick.details is details, "the probe ran a full scan"
        await asyncio.sleep(0.5)  # let the listeners see the probes' connections end before they close
    full_s, probe_s = statistics.median(full_times), statistics.median(probe_times)
    print(f"ports_full_scan_ms={full_s * 1000:.1f}")
    print(f"ports_probe_ms={probe_s * 1000:.1f}")
    print(f"ports_probe_ratio={probe_s / full_s:.4f}")


if __name__ == "__main__":
    asyncio.run(main())

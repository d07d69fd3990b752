"""Benchmark of discovery (issue #24): the address sweep against a bare nmap, and CT ingestion.

Sweep: 20 TCP listeners on scattered addresses of the loopback /16 127.66.0.0/16, on ports of the sweep's list.
Our sweep (`monitor.discovery.sweep.sweep`: planning, nmap as an asyncio subprocess, its XML parsed) and a bare
`nmap -sT` with the same flags, ports and rate run one after the other, alternating, twice each, in the same process
(whose event loop accepts the connections); the ratio compares the medians. The rate is raised to 100,000
packets/s for both (the daemon's polite default, 300/s, would take hours for a /16): what is measured is our
overhead around nmap, not nmap's pace.

CT: `bench/discovery_ct.py` (the loopback log in its own process, 50,000 entries read from entry 0).

Last lines: `sweep_s`, `nmap_s`, `sweep_found`, `ratio_vs_nmap` (target ≤ 1.2), `ct_entries_per_s` (target ≥ 5,000).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from discovery_ct import measure_ct

from monitor.discovery.sweep import TOP_PORTS, SweepConfig, nmap_args, sweep

NETWORK = ipaddress.ip_network("127.66.0.0/16")
LISTENERS = 20
RATE = 100_000
ROUNDS = 2


async def _accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def measure_sweep() -> dict[str, float]:
    picker = random.Random(24)
    spots = {
        (str(NETWORK[picker.randrange(1, NETWORK.num_addresses - 1)]), picker.choice(TOP_PORTS))
        for _ in range(LISTENERS)
    }
    servers = [await asyncio.start_server(_accept, host, port) for host, port in spots]
    cfg = SweepConfig(max_rate=RATE, max_addresses=NETWORK.num_addresses, host_timeout_s=30, deadline_s=1800)
    ours: list[float] = []
    bare: list[float] = []
    found = 0
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            result = await sweep([NETWORK], [NETWORK], cfg)
            ours.append(time.perf_counter() - started)
            found = len(result.sightings)
            started = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                "nmap", *nmap_args(cfg, [NETWORK]), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await process.wait()
            bare.append(time.perf_counter() - started)
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()
    if found != len(spots):
        raise SystemExit(f"the sweep found {found} of {len(spots)} listeners")
    sweep_s, nmap_s = statistics.median(ours), statistics.median(bare)
    return {"sweep_s": sweep_s, "nmap_s": nmap_s, "sweep_found": found, "ratio_vs_nmap": sweep_s / nmap_s}


def main() -> None:
    figures = asyncio.run(measure_sweep())
    ct = asyncio.run(measure_ct())
    print(f"sweep_addresses={NETWORK.num_addresses} sweep_ports={len(TOP_PORTS)} sweep_rate={RATE}")
    print(f"sweep_s={figures['sweep_s']:.2f}")
    print(f"nmap_s={figures['nmap_s']:.2f}")
    print(f"sweep_found={figures['sweep_found']:.0f}")
    print(f"ratio_vs_nmap={figures['ratio_vs_nmap']:.3f}")
    print(f"ct_entries={ct['ct_entries']:.0f}")
    print(f"ct_entries_per_s={ct['ct_entries_per_s']:.1f}")


if __name__ == "__main__":
    main()

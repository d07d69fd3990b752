"""Connect probes between full scans: are the ports the last nmap run found open still open?

A probe costs one TCP handshake per known-open port and no nmap process. It cannot see a port that opened since
the last full scan; that is found by the next full scan, at most `full_scan_every_s` later.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TypeGuard

from checks.base import accepts
from checks.ports.models import PortsConfig, PortsDetails

MAX_PARALLEL_CONNECTS = 16  # politeness towards one host; a typical endpoint has a handful of open ports


def probe_due(previous: PortsDetails | None, address: str, cfg: PortsConfig, now: datetime) -> TypeGuard[PortsDetails]:
    """A probe may stand in for nmap: probes are on, the last full scan is recent and scanned this address."""
    if not cfg.full_scan_every_s or previous is None or previous.scanned_at is None:
        return False
    if previous.address != address or previous.port_spec != cfg.ports:
        return False
    return (now - previous.scanned_at).total_seconds() < cfg.full_scan_every_s


async def still_open(address: str, previous: PortsDetails, timeout_s: float) -> bool:
    """Every TCP port open at the last full scan accepts a connection now."""
    limit = asyncio.Semaphore(MAX_PARALLEL_CONNECTS)
    ports = [p.port for p in previous.open_ports if p.protocol == "tcp"]
    results = await asyncio.gather(*(_accepts(address, port, timeout_s, limit) for port in ports))
    return all(results)


async def _accepts(address: str, port: int, timeout_s: float, limit: asyncio.Semaphore) -> bool:
    async with limit:
        return await accepts(address, port, timeout_s)

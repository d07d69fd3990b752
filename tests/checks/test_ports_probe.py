"""Connect probes between full port scans, against real nmap and real listeners on 127.0.0.x."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the listener helpers next to this file (tests/ is no package)

import ports_listeners as fake

from checks.base import CheckContext
from checks.ports import PortsCheck, PortsConfig, PortsDetails
from monitor.models import CheckStatus, Target
from monitor.runner import execute

CHECK = PortsCheck()
HOST = "127.0.0.40"
CFG = PortsConfig(ports="22,6379,8080", version_detection=False, full_scan_every_s=86_400)


async def scan(previous: PortsDetails | None, now: datetime, cfg: PortsConfig = CFG) -> PortsDetails:
    ctx = CheckContext(now=now, peer_details={"ports": previous} if previous is not None else {})
    result = await execute(CHECK, Target(HOST, 443), cfg, ctx)
    assert result.status is CheckStatus.OK, result.reason
    assert isinstance(result.details, PortsDetails)
    return result.details


async def test_unchanged_ports_cost_a_probe_and_a_closed_one_a_full_scan() -> None:
    start = datetime.now(UTC)
    async with fake.listening([(HOST, 22, fake.ssh), (HOST, 6379, fake.redis)]) as listeners:
        # Given a full scan that found 22 and 6379 open
        first = await scan(None, start)
        assert first.scanned_at == start and first.port_spec == CFG.ports
        assert [p.port for p in first.open_ports] == [22, 6379]

        # When the next run is within full_scan_every_s and both ports still accept
        probed = await scan(first, start + timedelta(hours=1))
        # Then the last full scan's facts stand: nmap did not run (its scan time would be the new "now")
        assert probed == first

        # And a port opened since is not seen by a probe, but by the full scan once the window has passed
        await listeners.add(HOST, 8080, fake.http)
        assert await scan(first, start + timedelta(hours=2)) == first
        later = await scan(first, start + timedelta(days=1, seconds=1))
        assert later.scanned_at == start + timedelta(days=1, seconds=1)
        assert [p.port for p in later.open_ports] == [22, 6379, 8080]

    # When a known-open port closed, the probe fails and nmap runs at once
    async with fake.listening([(HOST, 22, fake.ssh)]):
        after_close = await scan(later, start + timedelta(days=1, hours=1))
    assert after_close.scanned_at == start + timedelta(days=1, hours=1)
    assert [p.port for p in after_close.open_ports] == [22]


async def test_probes_off_or_changed_port_set_mean_a_full_scan() -> None:
    start = datetime.now(UTC)
    async with fake.listening([(HOST, 22, fake.ssh)]):
        first = await scan(None, start)
        # probes switched off: every run is nmap
        off = CFG.model_copy(update={"full_scan_every_s": 0})
        assert (await scan(first, start + timedelta(minutes=1), off)).scanned_at == start + timedelta(minutes=1)
        # the agency widened the port set: the old scan says nothing about the new ports
        wider = PortsConfig(ports="22,80,6379,8080", version_detection=False, full_scan_every_s=86_400)
        assert (await scan(first, start + timedelta(minutes=2), wider)).scanned_at == start + timedelta(minutes=2)

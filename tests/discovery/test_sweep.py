"""The sweep source with the real nmap against listeners on loopback: what listens inside the agency's ranges is
found, and a range outside them is refused before nmap starts, so nothing there is ever contacted."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from monitor.discovery.models import AgencyAssets
from monitor.discovery.sweep import NMAP_MISSING, Sweep, SweepConfig, SweepFailed, plan, sweep
from monitor.scope import ScopeEntry

NET = "127.0.70"
OWN = ipaddress.ip_network(f"{NET}.0/28")
FAST = SweepConfig(ports=(22, 80, 5432, 8080), max_rate=5000, host_timeout_s=5, deadline_s=60)


@asynccontextmanager
async def listening(*where: tuple[str, int]) -> AsyncIterator[dict[tuple[str, int], int]]:
    """TCP listeners that count the connections they accept."""
    accepted = {spot: 0 for spot in where}
    servers = []

    def counter(spot: tuple[str, int]) -> object:
        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted[spot] += 1
            writer.close()

        return accept

    for host, port in where:
        servers.append(await asyncio.start_server(counter((host, port)), host, port))  # type: ignore[arg-type]
    try:
        yield accepted
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def test_what_listens_inside_the_range_is_found() -> None:
    async with listening((f"{NET}.3", 22), (f"{NET}.3", 8080), (f"{NET}.9", 5432), (f"{NET}.20", 22)) as accepted:
        result = await sweep([OWN], [OWN], FAST)
    assert sorted((s.host, s.port) for s in result.sightings) == [
        (f"{NET}.3", 22),
        (f"{NET}.3", 8080),
        (f"{NET}.9", 5432),
    ]
    assert {s.source for s in result.sightings} == {"sweep"}
    assert next(s for s in result.sightings if s.port == 5432).evidence["service"] == "postgresql"
    assert result.swept == (str(OWN),) and result.addresses == 16 and result.nmap_version
    assert accepted[(f"{NET}.20", 22)] == 0  # outside the /28: never contacted


@pytest.mark.parametrize(
    ("asked", "why"),
    [
        (f"{NET}.0/27", "outside the agency's CIDR scope"),  # overlaps the agency's /28: refused whole, not clipped
        (f"{NET}.16/28", "outside the agency's CIDR scope"),
        ("::1/128", "IPv6 ranges are not swept"),
        ("not-a-network", "not an IP network"),
    ],
)
async def test_a_range_outside_the_scope_is_refused_and_nothing_is_contacted(asked: str, why: str) -> None:
    async with listening((f"{NET}.3", 22), (f"{NET}.20", 22)) as accepted:
        result = await sweep([asked], [OWN], FAST)
    assert result.sightings == () and result.swept == ()
    assert result.refused[0][0] in (asked, str(ipaddress.ip_network(asked, strict=False)) if "/" in asked else asked)
    assert why in result.refused[0][1]
    assert accepted == {(f"{NET}.3", 22): 0, (f"{NET}.20", 22): 0}


def test_too_many_addresses_are_refused() -> None:
    wide = ipaddress.ip_network("127.64.0.0/15")
    planned = plan([wide], [ipaddress.ip_network("127.0.0.0/8")], SweepConfig())
    assert planned.networks == () and "more than 65536 addresses" in planned.refused[0][1]


async def test_the_deadline_kills_nmap() -> None:
    slow = SweepConfig(ports=tuple(range(1, 1001)), max_rate=50, deadline_s=1.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(SweepFailed, match=r"did not finish within 1 s; killed"):
        await sweep([OWN], [OWN], slow)
    assert asyncio.get_running_loop().time() - started < 5
    checked = await asyncio.create_subprocess_exec("pgrep", "-f", f"nmap.*{OWN}", stdout=asyncio.subprocess.PIPE)
    assert (await checked.communicate())[0] == b""


async def test_a_missing_nmap_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SweepFailed) as raised:
        await sweep([OWN], [OWN], FAST)
    assert str(raised.value) == NMAP_MISSING


async def test_the_source_sweeps_the_agency_s_own_cidrs_only() -> None:
    assets = AgencyAssets(
        "lk-a", [ScopeEntry.parse(str(OWN)), ScopeEntry.parse("lk-a.example")], ["lk-a.example"], [], frozenset()
    )
    async with listening((f"{NET}.5", 80)):
        found = await Sweep(FAST)(assets)
    assert [(s.host, s.port) for s in found] == [(f"{NET}.5", 80)]
    everything = AgencyAssets("lk-b", [ScopeEntry.parse("127.0.0.0/8")], [], [], frozenset())
    with pytest.raises(SweepFailed, match=r"nothing swept .*more than 65536 addresses"):
        await Sweep(FAST)(everything)
    assert await Sweep(FAST)(AgencyAssets("lk-c", [ScopeEntry.parse("lk-c.example")], [], [], frozenset())) == []

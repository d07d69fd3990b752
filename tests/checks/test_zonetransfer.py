"""The axfr check against real authoritative servers (knot in the DNS lab): an open zone transfer is a high finding
naming the server, with the zone's names for discovery; a refusing server is none; a server that cannot be reached
tests nothing; a non-public address outside the agency's networks is never contacted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import dns.name
import pytest

from checks.base import DNS_NAMESERVERS, CheckContext
from checks.zonetransfer import ZoneTransferCheck, ZoneTransferConfig, ZoneTransferDetails
from checks.zonetransfer.axfr import attempt
from monitor.models import CheckStatus, Severity, Target
from monitor.runner import execute
from tests.dns_lab import DnsLab, Zone, dns_lab

CHECK = ZoneTransferCheck()
RECORDS = ("@ MX 10 mail", "mail A 127.0.45.25", "vpn A 127.0.45.26", "intranet A 10.1.2.3", "www A 127.0.45.27")


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    zones = [Zone("open", signed=False, records=RECORDS, axfr_open=True), Zone("closed", signed=False, records=RECORDS)]
    with dns_lab(zones, validating=False) as running:
        yield running


def _run(lab: DnsLab, label: str, scope: object = None, **settings: object) -> object:
    cfg = ZoneTransferConfig.model_validate({"port": lab.auth[1], "server_timeout_s": 3, **settings})
    ctx = CheckContext(resources={DNS_NAMESERVERS: (lab.resolver,)})
    target = Target(lab.domain(label), 0, 1, scope=scope)  # type: ignore[arg-type]
    return asyncio.run(execute(CHECK, target, cfg, ctx))


def test_an_open_transfer_is_a_high_finding_with_the_zone_s_names(lab: DnsLab) -> None:
    result = _run(lab, "open")
    assert result.status == CheckStatus.OK, result.error  # type: ignore[attr-defined]
    details: ZoneTransferDetails = result.details  # type: ignore[attr-defined]
    assert [(s.ns, s.address, s.outcome) for s in details.servers] == [("ns1.dnssec.test", lab.auth[0], "open")]
    zone = lab.domain("open")
    assert set(details.names) == {zone, f"mail.{zone}", f"vpn.{zone}", f"intranet.{zone}", f"www.{zone}"}
    (finding,) = result.observations  # type: ignore[attr-defined]
    assert finding.key == "dns.axfr.open" and finding.severity == Severity.HIGH
    assert finding.detail == {"servers": [{"ns": "ns1.dnssec.test", "address": lab.auth[0], "names": 5}]}
    seen = {s.name: s for s in CHECK.names_seen(details)}
    assert set(seen) == set(details.names) and seen[f"vpn.{zone}"].source == "dns"
    assert seen[f"vpn.{zone}"].evidence["via"] == "axfr"


def test_a_refused_transfer_is_no_finding(lab: DnsLab) -> None:
    result = _run(lab, "closed")
    assert result.status == CheckStatus.OK, result.error  # type: ignore[attr-defined]
    details: ZoneTransferDetails = result.details  # type: ignore[attr-defined]
    assert [s.outcome for s in details.servers] == ["refused"] and details.servers[0].reason == "NOTAUTH"
    assert result.observations == () and details.names == ()  # type: ignore[attr-defined]
    assert CHECK.untested(details) == ()


def test_the_name_budget_cuts_an_open_transfer(lab: DnsLab) -> None:
    details: ZoneTransferDetails = _run(lab, "open", max_names=2).details  # type: ignore[attr-defined]
    assert len(details.names) == 2 and details.truncated


def test_a_server_that_does_not_answer_tests_nothing(lab: DnsLab) -> None:
    result = _run(lab, "open", port=1)  # nothing listens on port 1 of the lab's address
    details: ZoneTransferDetails = result.details  # type: ignore[attr-defined]
    assert [s.outcome for s in details.servers] == ["refused"]  # a closed TCP port refuses
    silent = asyncio.run(attempt_against_a_silent_server())
    assert silent.outcome == "failed" and "within 0.5 s" in silent.reason
    failed = ZoneTransferDetails(
        domain="x.test", servers=(details.servers[0].model_copy(update={"outcome": "failed"}),)
    )
    assert CHECK.untested(failed) == ("dns.axfr.open",)


async def attempt_against_a_silent_server() -> object:
    """A server that accepts the connection and never answers."""
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.45.53", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await attempt(dns.name.from_text("x.test."), "127.0.45.53", port, 0.5, 100, 10_000)
    finally:
        release.set()
        server.close()
        await server.wait_closed()


class Forbidding:
    """An agency scope that forbids every address (as a non-public one outside its CIDRs would be)."""

    def owns(self, host: str, addresses: Sequence[str]) -> bool:
        return False

    def forbidden(self, addresses: Sequence[str]) -> tuple[str, ...]:
        return tuple(addresses)


def test_a_forbidden_server_address_is_never_contacted(lab: DnsLab) -> None:
    accepted: list[int] = []

    async def scenario() -> object:
        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(1)
            writer.close()

        listener = await asyncio.start_server(count, lab.auth[0], 0)  # where the name server's transfers would go
        port = listener.sockets[0].getsockname()[1]
        try:
            cfg = ZoneTransferConfig(port=port, server_timeout_s=3)
            ctx = CheckContext(resources={DNS_NAMESERVERS: (lab.resolver,)})
            return await execute(CHECK, Target(lab.domain("open"), 0, 1, scope=Forbidding()), cfg, ctx)
        finally:
            listener.close()
            await listener.wait_closed()

    result = asyncio.run(scenario())
    details: ZoneTransferDetails = result.details  # type: ignore[attr-defined]
    assert [s.outcome for s in details.servers] == ["not_contacted"] and accepted == []
    assert result.observations == () and CHECK.untested(details) == ("dns.axfr.open",)  # type: ignore[attr-defined]

"""The "sweep" source: the agency's own IPv4 ranges swept for listening TCP services with an nmap connect scan.

Only networks that lie wholly inside one of the agency's CIDRs are swept; anything else is refused before nmap
starts, whole (never clipped: a range the agency did not name exactly is not what it asked for). IPv6 ranges are
never swept (2^64 addresses per subnet): their hosts are found by name. nmap runs as an asyncio subprocess with
an argument list (never a shell), `-n` (no reverse DNS), `-Pn` (a host that drops pings is still swept), at
`max_rate` packets per second, under a deadline that kills its process group (docs/discovery.md)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused_et

from monitor.discovery.models import AgencyAssets, Sighting

IpNetwork = IPv4Network | IPv6Network

NMAP = "nmap"
NMAP_MISSING = "nmap binary not found: install nmap (Debian: apt-get install nmap)"
MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # nmap's XML with --open: a few hundred bytes per open port
# What a public agency exposes, and what an attacker looks for first: web and mail, remote access and
# administration, file sharing, databases, directory services, VPN gateways' TCP ports (docs/discovery.md).
TOP_PORTS: tuple[int, ...] = (
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636, 993, 995, 1433, 1521, 1723,
    2049, 2375, 3306, 3389, 4433, 5432, 5900, 5985, 5986, 6379, 8080, 8443, 9200, 9443, 10000, 10443, 27017,
)  # fmt: skip


class SweepFailed(RuntimeError):
    """nmap is missing, died, timed out or wrote unreadable XML: the source's run failed (one line)."""


@dataclass(frozen=True, slots=True)
class SweepConfig:
    ports: tuple[int, ...] = TOP_PORTS
    max_rate: int = 300  # packets per second: polite towards the agency's firewalls and uplinks
    max_addresses: int = 65_536  # a /16 per agency and run at most
    host_timeout_s: float = 60.0
    deadline_s: float = 6 * 3600.0  # a /16 with 39 ports at 300 pps takes about 2.4 h


@dataclass(frozen=True, slots=True)
class SweepResult:
    sightings: tuple[Sighting, ...]
    swept: tuple[str, ...]  # the networks given to nmap
    refused: tuple[tuple[str, str], ...] = ()  # (network, why) never given to nmap
    addresses: int = 0
    duration_s: float = 0.0
    nmap_version: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    networks: tuple[IPv4Network, ...] = ()
    refused: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def addresses(self) -> int:
        return sum(network.num_addresses for network in self.networks)


def plan(networks: Sequence[str | IpNetwork], allowed: Sequence[IpNetwork], cfg: SweepConfig) -> Plan:
    """The networks nmap may sweep, and the refused ones with the reason. Pure: this is the scope guard."""
    kept: list[IPv4Network] = []
    refused: list[tuple[str, str]] = []
    for raw in networks:
        try:
            network = ipaddress.ip_network(raw, strict=False) if isinstance(raw, str) else raw
        except ValueError:
            refused.append((str(raw), "not an IP network"))
            continue
        if isinstance(network, IPv6Network):
            refused.append((str(network), "IPv6 ranges are not swept; only their registered and discovered names are"))
            continue
        if not any(isinstance(own, IPv4Network) and network.subnet_of(own) for own in allowed):
            refused.append((str(network), "outside the agency's CIDR scope"))
            continue
        if sum(n.num_addresses for n in kept) + network.num_addresses > cfg.max_addresses:
            refused.append((str(network), f"more than {cfg.max_addresses} addresses in one sweep"))
            continue
        kept.append(network)
    return Plan(tuple(kept), tuple(refused))


async def sweep(networks: Sequence[str | IpNetwork], allowed: Sequence[IpNetwork], cfg: SweepConfig) -> SweepResult:
    """Sweep what `plan` keeps; the refused networks are in the result and never reach nmap."""
    planned = plan(networks, allowed, cfg)
    if not planned.networks:
        return SweepResult((), (), planned.refused)
    started = time.monotonic()
    output = await _run_nmap(nmap_args(cfg, planned.networks), cfg.deadline_s)
    version, found = await asyncio.to_thread(parse_report, output)
    sightings = tuple(
        Sighting(address, port, "sweep", {"service": service, "reason": reason})
        for address, port, service, reason in found
        if any(ipaddress.ip_address(address) in network for network in planned.networks)  # nmap's word is data too
    )
    return SweepResult(
        sightings,
        tuple(str(n) for n in planned.networks),
        planned.refused,
        planned.addresses,
        time.monotonic() - started,
        version,
    )


def nmap_args(cfg: SweepConfig, networks: Sequence[IPv4Network]) -> list[str]:
    """nmap's arguments: a connect scan of the ports, no DNS, every address (`-Pn`), at most `max_rate`."""
    return [
        "-sT", "-Pn", "-n", "--open", "--noninteractive",
        "--max-rate", str(cfg.max_rate),
        "--host-timeout", f"{max(1, round(cfg.host_timeout_s * 1000))}ms",
        "-p", ",".join(str(port) for port in sorted(set(cfg.ports))),
        "-oX", "-",
        *(str(network) for network in networks),  # canonical CIDR text: never a name, never starts with '-'
    ]  # fmt: skip


async def _run_nmap(args: list[str], deadline_s: float) -> bytes:
    binary = shutil.which(NMAP)
    if binary is None:
        raise SweepFailed(NMAP_MISSING)
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group: a deadline or a cancellation kills all of it
    )
    try:
        async with asyncio.timeout(deadline_s):
            stdout, stderr = await _bounded(process)
    except TimeoutError:
        raise SweepFailed(f"nmap did not finish within {deadline_s:g} s; killed") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if process.returncode != 0:
        reason = " ".join(stderr.decode(errors="replace").split())[:200] or f"exit status {process.returncode}"
        raise SweepFailed(f"nmap failed: {reason}")
    return stdout


async def _bounded(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    assert process.stdout is not None and process.stderr is not None
    chunks: list[bytes] = []
    size = 0
    errors = asyncio.create_task(process.stderr.read(64 * 1024))
    while chunk := await process.stdout.read(64 * 1024):
        size += len(chunk)
        if size > MAX_OUTPUT_BYTES:
            errors.cancel()
            raise SweepFailed(f"nmap wrote more than {MAX_OUTPUT_BYTES} bytes")
        chunks.append(chunk)
    await process.wait()
    return b"".join(chunks), await errors


def parse_report(xml: bytes) -> tuple[str, list[tuple[str, int, str, str]]]:
    """nmap's version and every open TCP port as (address, port, service name, reason)."""
    try:
        root: Element = defused_et.fromstring(xml)
    except (ParseError, DefusedXmlException) as err:
        raise SweepFailed(f"nmap's XML is unreadable: {err}") from None
    found: list[tuple[str, int, str, str]] = []
    for host in root.iter("host"):
        address = next((a.get("addr", "") for a in host.iter("address") if a.get("addrtype") == "ipv4"), "")
        for port in host.iter("port"):
            state = port.find("state")
            if port.get("protocol") != "tcp" or state is None or state.get("state") != "open":
                continue
            service = port.find("service")
            found.append(
                (
                    address,
                    int(port.get("portid", "0")),
                    "" if service is None else service.get("name", ""),
                    state.get("reason", ""),
                )
            )
    return root.get("version", ""), found


class Sweep:
    """The source the daemon runs: the agency's own IPv4 CIDRs, nothing else."""

    def __init__(self, cfg: SweepConfig) -> None:
        self.cfg = cfg

    async def __call__(self, agency: AgencyAssets) -> list[Sighting]:
        networks = [ipaddress.ip_network(value) for value in agency.networks]
        result = await sweep(networks, networks, self.cfg)
        if result.refused and not result.swept:
            reasons = "; ".join(f"{net}: {why}" for net, why in result.refused)
            raise SweepFailed(f"nothing swept ({reasons})")
        return list(result.sightings)

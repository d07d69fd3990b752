"""Running nmap and reading its XML: the only module of the ports check that does I/O.

nmap runs as an asyncio subprocess with an argument list (never a shell), its XML report (`-oX -`) is parsed with
defusedxml off the event loop, and a cancelled run (the runner's deadline) kills and reaps the nmap process before
the cancellation propagates. `scan_addresses` takes several addresses of one family, so a scan round can batch
endpoints into one nmap run and split the results back per address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused_et

from checks.base import CheckMisconfigured
from checks.ports.models import OpenPort, PortsConfig
from checks.ports.portspec import format_ports, parse_port_list

NMAP_BINARY = "nmap"
NMAP_MISSING = "nmap binary not found: install nmap (Debian: apt-get install nmap)"
MAX_REASON_CHARS = 200


class NmapFailed(RuntimeError):
    """nmap died, exited with an error or wrote unreadable XML: the runner reports `crashed`."""


@dataclass(frozen=True, slots=True)
class HostScan:
    """One address's share of an nmap run."""

    open_ports: tuple[OpenPort, ...] = ()
    timed_out: bool = False  # nmap gave up on the host (--host-timeout): its ports are missing


@dataclass(frozen=True, slots=True)
class NmapReport:
    nmap_version: str
    scanned: str  # the TCP ports nmap scanned, as ranges (from <scaninfo services=…>)
    hosts: dict[str, HostScan] = field(default_factory=dict)  # hosts without open ports are absent (--open)


@dataclass(frozen=True, slots=True)
class AddressScan:
    """Both phases for one address: what `PortsDetails` is built from."""

    open_ports: tuple[OpenPort, ...]
    scanned: str
    version_scan: str  # "done" | "timed_out" | "skipped"
    nmap_version: str


async def scan_addresses(
    addresses: Sequence[str], cfg: PortsConfig, executor: Executor | None = None
) -> dict[str, AddressScan | None]:
    """Scan IP addresses of one family with one nmap run per phase; None for an address nmap gave up on.

    Phase 1 is a TCP connect scan (`-sT -Pn`) of `cfg.ports`; phase 2 runs `-sV` only on the ports phase 1 found
    open (the union over the batch; each address keeps only its own ports).
    """
    canonical = _canonical_addresses(addresses)
    ipv6 = ipaddress.ip_address(canonical[0]).version == 6
    first = await _nmap_report(
        [*_common_args(cfg, ipv6), *cfg.selection.nmap_args(), "--host-timeout", _duration(cfg.host_timeout_s)],
        canonical,
        executor,
    )
    open_union = {p.port for host in first.hosts.values() for p in host.open_ports}
    fingerprints: NmapReport | None = None
    probe = [a for a in canonical if first.hosts.get(a, HostScan()).open_ports]
    if cfg.version_detection and probe:
        fingerprints = await _nmap_report(
            [
                *_common_args(cfg, ipv6),
                "-sV",
                *_version_args(cfg),
                "-p",
                format_ports(open_union),
                "--host-timeout",
                _duration(cfg.version_host_timeout_s),
            ],
            probe,
            executor,
        )
    results: dict[str, AddressScan | None] = {}
    for address in canonical:
        found = first.hosts.get(address, HostScan())
        if found.timed_out:
            results[address] = None
            continue
        ports, state = found.open_ports, "skipped"
        if fingerprints is not None and ports:
            ports, state = _merge(ports, fingerprints.hosts.get(address, HostScan()))
        results[address] = AddressScan(ports, first.scanned, state, first.nmap_version)
    return results


def _merge(found: tuple[OpenPort, ...], probed: HostScan) -> tuple[tuple[OpenPort, ...], str]:
    # phase 1 is authoritative for which ports are open; phase 2 only adds the fingerprint of those ports
    if probed.timed_out:
        return found, "timed_out"
    by_port = {(p.protocol, p.port): p for p in probed.open_ports}
    return tuple(by_port.get((p.protocol, p.port), p) for p in found), "done"


def _common_args(cfg: PortsConfig, ipv6: bool) -> list[str]:
    args = ["-sT", "-Pn", "-n", "--open", "--noninteractive", f"-T{cfg.timing}", "-oX", "-"]
    if cfg.max_rate is not None:
        args += ["--max-rate", f"{cfg.max_rate:g}"]
    if cfg.max_parallelism is not None:
        args += ["--max-parallelism", str(cfg.max_parallelism)]
    if ipv6:
        args.append("-6")
    return args


def _version_args(cfg: PortsConfig) -> list[str]:
    if cfg.version_intensity == 2:
        return ["--version-light"]
    return ["--version-intensity", str(cfg.version_intensity)]


def _duration(value: float) -> str:
    return f"{max(1, round(value * 1000))}ms"


def _canonical_addresses(addresses: Sequence[str]) -> list[str]:
    # Only IP literals ever reach nmap: never a name, range, CIDR, list or anything that starts with '-'.
    if not addresses:
        raise ValueError("no addresses to scan")
    parsed = [ipaddress.ip_address(a) for a in addresses]
    if len({a.version for a in parsed}) != 1:
        raise ValueError("one nmap run scans one address family: split IPv4 and IPv6 addresses")
    return list(dict.fromkeys(str(a) for a in parsed))


async def _nmap_report(args: list[str], addresses: Sequence[str], executor: Executor | None) -> NmapReport:
    xml_text = await run_nmap([*args, "--", *addresses])
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, parse_nmap_xml, xml_text)


async def run_nmap(args: Sequence[str]) -> str:
    """Run nmap with `args` and return its standard output; kill and reap it if the caller is cancelled."""
    binary = shutil.which(NMAP_BINARY)
    if binary is None:
        raise CheckMisconfigured(NMAP_MISSING)
    try:
        # its own session: a Ctrl-C in the daemon's terminal stops the daemon in phases (which ends nmap below),
        # instead of killing nmap mid-scan and recording the run as crashed
        process = await asyncio.create_subprocess_exec(
            binary,
            *args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise CheckMisconfigured(NMAP_MISSING) from None
    try:
        stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:  # cancelled (deadline) or failed while reading: no orphaned nmap
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    code = process.returncode
    if code is not None and code < 0:
        raise NmapFailed(f"nmap killed by signal {-code}")
    if code != 0:
        raise NmapFailed(f"nmap exited with status {code}: {_last_line(stderr)}")
    return stdout.decode("utf-8", errors="replace")


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    text = lines[-1] if lines else "no message"
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def parse_nmap_xml(xml_text: str) -> NmapReport:
    """Read nmap's XML report in one parse; a report that declares entities is refused before anything expands.

    nmap declares none; one that does is hostile (billion laughs, external entities), and defusedxml refuses it.
    """
    try:
        root = defused_et.fromstring(xml_text)
    except DefusedXmlException:
        raise NmapFailed("nmap XML output declares entities (refused: XML bomb or external entity)") from None
    except ParseError as err:
        raise NmapFailed(f"unreadable nmap XML output (line {err.position[0]})") from None
    try:
        return _report(root)
    except NmapFailed:
        raise
    except (ValueError, TypeError) as err:  # an address, port number or port list nmap would never write
        raise NmapFailed(f"unreadable nmap XML output ({type(err).__name__})") from None


def _report(root: ET.Element) -> NmapReport:
    if root.tag != "nmaprun":
        raise NmapFailed("unreadable nmap XML output (no <nmaprun>)")
    finished = root.find("runstats/finished")
    if finished is None:
        raise NmapFailed("incomplete nmap XML output (no <runstats>)")
    if finished.get("exit") == "error":
        raise NmapFailed(f"nmap reported an error: {finished.get('errormsg', 'no message')[:MAX_REASON_CHARS]}")
    info = root.find("scaninfo[@protocol='tcp']")
    scanned = parse_port_list(info.get("services", "")) if info is not None and info.get("services") else ()
    hosts: dict[str, HostScan] = {}
    for host in root.iterfind("host"):
        address = _address(host.iterfind("address"))
        if address is None:
            continue
        ports = sorted(
            (_open_port(port) for port in host.iterfind("ports/port") if _state(port) == "open"),
            key=lambda found: (PROTOCOL_ORDER.get(found.protocol, len(PROTOCOL_ORDER)), found.port),
        )
        hosts[address] = HostScan(tuple(ports), timed_out=host.get("timedout") == "true")
    return NmapReport(nmap_version=root.get("version", ""), scanned=format_ports(scanned), hosts=hosts)


PROTOCOL_ORDER = {"tcp": 0, "udp": 1, "sctp": 2}


def _state(port: ET.Element) -> str:
    state = port.find("state")
    return state.get("state", "") if state is not None else ""


def _open_port(port: ET.Element) -> OpenPort:
    service = port.find("service")
    attributes = service.attrib if service is not None else {}
    conf = attributes.get("conf", "")
    cpes = () if service is None else service.iterfind("cpe")
    return OpenPort(
        protocol=port.get("protocol", "tcp"),
        port=int(port.get("portid", "0")),
        state="open",
        service=attributes.get("name", ""),
        product=attributes.get("product", ""),
        version=attributes.get("version", ""),
        extrainfo=attributes.get("extrainfo", ""),
        tunnel=attributes.get("tunnel", ""),
        method=attributes.get("method", ""),
        confidence=int(conf) if conf.isdigit() and int(conf) <= 10 else None,
        cpes=tuple(cpe.text.strip() for cpe in cpes if cpe.text and cpe.text.strip()),
    )


def _address(elements: Iterable[ET.Element]) -> str | None:
    for element in elements:
        if element.get("addrtype") in ("ipv4", "ipv6"):
            return str(ipaddress.ip_address(element.get("addr", "")))
    return None

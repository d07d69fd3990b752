"""Running nmap and reading its XML: the only module of the ports check that does I/O.

nmap runs as an asyncio subprocess with an argument list (never a shell), its XML report (`-oX -`) is parsed with
python-nmap off the event loop, and a cancelled run (the runner's deadline) kills and reaps the nmap process before
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
from typing import Any
from xml.parsers import expat

import nmap

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
    """Read nmap's XML report: python-nmap for the port table, `_extras` for what python-nmap drops."""
    try:
        _refuse_entities(xml_text)
        extras = _extras(xml_text)
        parsed: dict[str, Any] = _xml_parser().analyse_nmap_xml_scan(nmap_xml_output=xml_text)
        return _report(parsed, extras)
    except NmapFailed:
        raise
    except Exception as err:  # python-nmap raises PortScannerError, KeyError or AttributeError on bad XML
        raise NmapFailed(f"unreadable nmap XML output ({type(err).__name__})") from None


def _refuse_entities(xml_text: str) -> None:
    """Refuse a report that declares entities, before a parser that would expand them sees it.

    nmap declares none; one that does is hostile (billion laughs, external entities). python-nmap parses with
    xml.etree, which has no switch for this, so the whole text is checked first with a bare expat pass.
    """

    def refuse(*_: object) -> None:
        raise NmapFailed("nmap XML output declares entities (refused: XML bomb or external entity)")

    parser = expat.ParserCreate()
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    try:
        parser.Parse(xml_text, True)
    except expat.ExpatError as err:
        raise NmapFailed(f"unreadable nmap XML output (line {err.lineno})") from None


def _report(parsed: dict[str, Any], extras: _Extras) -> NmapReport:
    scanned = parse_port_list(extras.scanned) if extras.scanned else ()
    hosts: dict[str, HostScan] = {}
    for address, host in parsed.get("scan", {}).items():
        key = str(ipaddress.ip_address(address))
        ports: list[OpenPort] = []
        for protocol in ("tcp", "udp", "sctp"):
            for number, entry in sorted(host.get(protocol, {}).items()):
                if entry.get("state") != "open":
                    continue
                more = extras.services.get((key, protocol, int(number)), _ServiceExtras())
                ports.append(_open_port(protocol, int(number), entry, more))
        hosts[key] = HostScan(tuple(ports), timed_out=key in extras.timed_out)
    for key in extras.timed_out:
        hosts.setdefault(key, HostScan(timed_out=True))
    return NmapReport(nmap_version=extras.version, scanned=format_ports(scanned), hosts=hosts)


def _xml_parser() -> nmap.PortScanner:
    # PortScanner.__init__ runs `nmap -V` (a blocking subprocess) only to locate the binary. We have already run
    # nmap ourselves; analyse_nmap_xml_scan needs no other state than the XML it is given.
    return nmap.PortScanner.__new__(nmap.PortScanner)


def _open_port(protocol: str, number: int, entry: dict[str, Any], more: _ServiceExtras) -> OpenPort:
    conf = str(entry.get("conf") or "")
    return OpenPort(
        protocol=protocol,
        port=number,
        state=str(entry.get("state", "open")),
        service=str(entry.get("name") or ""),
        product=str(entry.get("product") or ""),
        version=str(entry.get("version") or ""),
        extrainfo=str(entry.get("extrainfo") or ""),
        tunnel=more.tunnel,
        method=more.method,
        confidence=int(conf) if conf.isdigit() and int(conf) <= 10 else None,
        cpes=more.cpes,
    )


@dataclass(frozen=True, slots=True)
class _ServiceExtras:
    cpes: tuple[str, ...] = ()
    tunnel: str = ""
    method: str = ""


@dataclass(slots=True)
class _Extras:
    version: str = ""
    scanned: str = ""
    timed_out: set[str] = field(default_factory=set)
    services: dict[tuple[str, str, int], _ServiceExtras] = field(default_factory=dict)


def _extras(xml_text: str) -> _Extras:
    """The one place that reads nmap's XML directly, for what python-nmap 0.7 drops.

    python-nmap keeps only the last `<cpe>` of a service and ignores `tunnel`, `method`, `<host timedout>` and the
    run's exit status; the patch-status check needs every CPE and the ports check needs the rest.
    """
    try:
        # The XML comes from the local nmap binary, which escapes everything the target sent; a report that
        # declares entities was refused by `_refuse_entities` before this parse.
        root = ET.fromstring(xml_text)  # noqa: S314
    except ET.ParseError as err:
        raise NmapFailed(f"unreadable nmap XML output (line {err.position[0]})") from None
    if root.tag != "nmaprun":
        raise NmapFailed("unreadable nmap XML output (no <nmaprun>)")
    finished = root.find("runstats/finished")
    if finished is None:
        raise NmapFailed("incomplete nmap XML output (no <runstats>)")
    if finished.get("exit") == "error":
        raise NmapFailed(f"nmap reported an error: {finished.get('errormsg', 'no message')[:MAX_REASON_CHARS]}")
    extras = _Extras(version=root.get("version", ""))
    info = root.find("scaninfo[@protocol='tcp']")
    extras.scanned = info.get("services", "") if info is not None else ""
    for host in root.iterfind("host"):
        address = _address(host.iterfind("address"))
        if address is None:
            continue
        if host.get("timedout") == "true":
            extras.timed_out.add(address)
        for port in host.iterfind("ports/port"):
            service = port.find("service")
            if service is None:
                continue
            key = (address, port.get("protocol", "tcp"), int(port.get("portid", "0")))
            extras.services[key] = _ServiceExtras(
                cpes=tuple(c.text.strip() for c in service.iterfind("cpe") if c.text and c.text.strip()),
                tunnel=service.get("tunnel", ""),
                method=service.get("method", ""),
            )
    return extras


def _address(elements: Iterable[ET.Element]) -> str | None:
    for element in elements:
        if element.get("addrtype") in ("ipv4", "ipv6"):
            return str(ipaddress.ip_address(element.get("addr", "")))
    return None

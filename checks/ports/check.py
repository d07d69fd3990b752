"""The ports check: which TCP ports of an endpoint are open, what answers on them, and what has changed."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from checks.base import (
    Check,
    CheckContext,
    CheckError,
    CheckMisconfigured,
    FindingSpec,
    MetricFamily,
    MetricSample,
    PeerDetailsUnreadable,
    PortExposure,
    TargetUnreachable,
    Texts,
    read_peer,
)
from checks.ports.catalogue import EXPOSURE_SPECS, SERVICE_CLASSES, ServiceClass
from checks.ports.models import OpenPort, PortsConfig, PortsDetails
from checks.ports.portspec import parse_port_list
from checks.ports.probe import probe_due, still_open
from checks.ports.scanner import AddressScan, scan_addresses
from checks.ports.services import classify
from monitor.models import Observation, Severity, Target

UNEXPECTED = FindingSpec(
    key="ports.unexpected",
    severity=Severity.MEDIUM,
    title="Open ports outside the declared baseline",
    meaning="TCP ports are open that the agency did not declare as expected for this endpoint (`expected_ports`). "
    "Only reported when a baseline is declared; the detail lists every such port with nmap's fingerprint.",
    remediation="Close the port or restrict it at the firewall; if the service is intended, add the port to the "
    "endpoint's expected ports so that the baseline stays accurate.",
    de=Texts(
        title="Offene Ports außerhalb der festgelegten Soll-Ports",
        meaning="Es sind TCP-Ports offen, die die Behörde für diesen Endpunkt nicht als erwartet angegeben hat "
        "(`expected_ports`). Der Befund erscheint nur, wenn Soll-Ports hinterlegt sind; das Detail nennt jeden "
        "betroffenen Port mit dem erkannten Dienst (nmap-Fingerprint).",
        remediation="Schließen Sie den Port oder beschränken Sie den Zugriff in der Firewall. Ist der Dienst gewollt, "
        "nehmen Sie den Port in die erwarteten Ports des Endpunkts auf (oder lassen Sie ihn vom Landes-CERT "
        "aufnehmen), damit die Soll-Ports aktuell bleiben.",
    ),
)
NEW_OPEN = FindingSpec(
    key="ports.new_open",
    severity=Severity.LOW,
    title="Ports opened since the previous scan",
    meaning="A TCP port is open now that was scanned and closed in the previous scan of this endpoint. It is a "
    "drift signal, reported even for expected ports, and resolves by itself at the next scan that sees no new port. "
    "Ports outside the previous scan's port set never count as new.",
    remediation="Confirm that the change was planned (a deployment, a firewall change); if not, find out who opened "
    "the port and why.",
    de=Texts(
        title="Seit dem letzten Scan neu geöffnete Ports",
        meaning="Ein TCP-Port ist jetzt offen, der beim vorigen Scan dieses Endpunkts geprüft und geschlossen war. "
        "Dieser Hinweis auf eine Veränderung wird auch für erwartete Ports gemeldet und erledigt sich beim nächsten "
        "Scan ohne neuen Port von selbst. Ports, die beim vorigen Scan nicht geprüft wurden, gelten nie als neu.",
        remediation="Klären Sie, ob die Änderung geplant war (etwa eine neue Anwendung oder eine Firewall-Änderung). "
        "Falls nicht, finden Sie heraus, wer den Port geöffnet hat und warum, und schließen Sie ihn gegebenenfalls in "
        "der Firewall.",
    ),
)

_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")


class PortsCheck(Check[PortsConfig, PortsDetails]):
    """nmap TCP connect scan of a port set, then version detection on the open ports.

    `Target.port` is not used: the check scans `cfg.ports`. Drift (`ports.new_open`) compares with the previous
    details of this same check, which the caller passes as `ctx.peer_details["ports"]` (a `PortsDetails` or its
    JSON form); without them there is no drift finding.
    """

    name: ClassVar[str] = "ports"
    description: ClassVar[str] = "open TCP ports, service fingerprints (nmap -sV), drift from the declared baseline"
    config_model = PortsConfig
    details_model = PortsDetails
    findings = (*EXPOSURE_SPECS, UNEXPECTED, NEW_OPEN)
    reads_previous: ClassVar[bool] = True  # drift: ports.new_open
    compares_with_previous: ClassVar[tuple[str, ...]] = (NEW_OPEN.key,)
    metric_families = (
        MetricFamily(
            "posture_port_open",
            "1 for every open port of the last scan, with its exposure class and that class's severity",
            ("port", "service", "exposure", "risk"),
        ),
    )

    @classmethod
    def exposure_of(cls, port: int) -> PortExposure | None:
        """The class whose well-known ports hold `port` (the sweep of discovery knows no service name)."""
        for service in SERVICE_CLASSES:
            if port in service.ports:
                return PortExposure(service.spec.key, service.spec.severity)
        return None

    def metrics(self, details: PortsDetails, now: datetime) -> Iterable[MetricSample]:
        for open_port in details.open_ports:
            cls = classify(open_port)  # the catalogue's class: what evaluate() reports as ports.exposed.<class>
            exposure, risk = (cls.slug, cls.spec.severity.label) if cls is not None else ("none", "none")
            labels = (str(open_port.port), open_port.service or "unknown", exposure, risk)
            yield MetricSample("posture_port_open", labels, 1.0)

    async def run(self, target: Target, cfg: PortsConfig, ctx: CheckContext) -> PortsDetails:
        address = target.address or await resolve_address(validate_host(target.host))
        previous = previous_details(ctx)
        if probe_due(previous, address, cfg, ctx.now) and await still_open(address, previous, cfg.probe_timeout_s):
            return previous  # the known-open ports still answer: the last full scan's facts still hold
        scans = await scan_addresses([address], cfg, ctx.executor)
        return _details(address, scans[address], cfg, ctx.now)

    def evaluate(self, details: PortsDetails, cfg: PortsConfig, ctx: CheckContext) -> list[Observation]:
        observations = _exposures(details)
        if cfg.expected_ports is not None:
            unexpected = [p for p in details.open_ports if p.protocol == "tcp" and p.port not in cfg.expected_ports]
            if unexpected:
                observations.append(
                    UNEXPECTED.observe(
                        {"ports": [_evidence(p) for p in unexpected], "expected_ports": sorted(cfg.expected_ports)}
                    )
                )
        previous = previous_details(ctx)
        new = _new_ports(details, previous) if previous is not None else []
        if previous is not None and new:
            observations.append(
                NEW_OPEN.observe(
                    {"ports": [_evidence(p) for p in new], "previously_open": [p.label for p in previous.open_ports]}
                )
            )
        return observations


async def scan_batch(
    targets: Sequence[Target], cfg: PortsConfig, ctx: CheckContext
) -> dict[Target, PortsDetails | CheckError]:
    """Scan several targets with one nmap run per phase and address family; the same facts `run` would return.

    For a scan round that wants fewer nmap processes. A target whose host is refused, unresolvable or given up by
    nmap gets its CheckError instead of details; nmap's own failures (missing binary, crash) raise for the batch.
    """
    outcome: dict[Target, PortsDetails | CheckError] = {}
    addresses: dict[Target, str] = {}
    for target in targets:
        try:
            addresses[target] = target.address or await resolve_address(validate_host(target.host))
        except CheckError as err:
            outcome[target] = err
    for version in (4, 6):
        family = sorted({a for a in addresses.values() if ipaddress.ip_address(a).version == version})
        if not family:
            continue
        scans = await scan_addresses(family, cfg, ctx.executor)
        for target, address in addresses.items():
            if address in scans:
                try:
                    outcome[target] = _details(address, scans[address], cfg, ctx.now)
                except CheckError as err:
                    outcome[target] = err
    return outcome


def validate_host(host: str) -> str:
    """The host as nmap may see it: an IP literal or a DNS name, never an option, range, list or CIDR block."""
    reason = _refusal(host)
    if reason:
        raise CheckMisconfigured(f"refusing to scan host {host[:80]!r}: {reason}")
    return host


def _refusal(host: str) -> str | None:
    if not host:
        return "empty host"
    if host.startswith("-"):
        return "it would be read as an nmap option"
    if any(c.isspace() for c in host) or "," in host:
        return "it would be read as several targets"
    if "/" in host:
        return "it would be read as a CIDR block"
    if "%" in host:
        return "IPv6 zone identifiers are not scanned"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    if len(host) > 253 or not _HOSTNAME.fullmatch(host):
        return "not an IP address or a DNS name"
    if not any(c.isalpha() for c in host.rstrip(".").rsplit(".", 1)[-1]):
        return "looks like an address range, not a DNS name"
    return None


async def resolve_address(host: str) -> str:
    """The IP address nmap scans: the literal itself, or the first address DNS gives for the name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise TargetUnreachable(f"DNS lookup of {host} failed: {err}") from None
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            return str(ipaddress.ip_address(sockaddr[0]))
    raise TargetUnreachable(f"DNS lookup of {host} gave no IP address")


def previous_details(ctx: CheckContext) -> PortsDetails | None:
    """The previous scan of this endpoint, from `ctx.peer_details["ports"]`; None if absent or unreadable."""
    try:
        return read_peer(ctx, PortsCheck.name, PortsDetails)
    except PeerDetailsUnreadable:
        return None  # stored by an older schema: skip drift once rather than fail the run


def _new_ports(details: PortsDetails, previous: PortsDetails) -> list[OpenPort]:
    try:
        covered = set(parse_port_list(previous.scanned)) if previous.scanned else set()
    except ValueError:
        return []  # a damaged stored port list: no drift judgement rather than a crashed run
    before = previous.open_set()
    return [p for p in details.open_ports if (p.protocol, p.port) not in before and p.port in covered]


def _details(address: str, scan: AddressScan | None, cfg: PortsConfig, now: datetime) -> PortsDetails:
    if scan is None:
        raise TargetUnreachable(f"nmap gave up on {address} after host_timeout_s={cfg.host_timeout_s:g} s")
    return PortsDetails(
        address=address,
        scanned=scan.scanned,
        open_ports=scan.open_ports,
        version_scan=scan.version_scan,
        nmap_version=scan.nmap_version,
        port_spec=cfg.ports,
        scanned_at=now,
    )


def _exposures(details: PortsDetails) -> list[Observation]:
    grouped: dict[str, list[OpenPort]] = {}
    for port in details.open_ports:
        cls: ServiceClass | None = classify(port)
        if cls is not None:
            grouped.setdefault(cls.slug, []).append(port)
    return [
        cls.spec.observe({"ports": [_evidence(p) for p in grouped[cls.slug]]})
        for cls in SERVICE_CLASSES
        if cls.slug in grouped
    ]


def _evidence(port: OpenPort) -> dict[str, Any]:
    evidence: dict[str, Any] = {"port": port.port, "protocol": port.protocol, "service": port.service}
    for name in ("product", "version", "extrainfo", "tunnel"):
        value = getattr(port, name)
        if value:
            evidence[name] = value
    return evidence

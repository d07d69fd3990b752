"""Reference check: can we open a TCP connection, how long does it take, does the port speak TLS?"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from checks.base import (
    Check,
    CheckConfig,
    CheckContext,
    CheckDetails,
    FindingSpec,
    MetricFamily,
    MetricSample,
    TargetUnreachable,
    Texts,
    accepts,
    is_ip_literal,
    probe_tls_context,
)
from monitor.models import Observation, Severity, Target


class ReachabilityConfig(CheckConfig):
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    probe_tls: bool = True
    slow_connect_ms: float = Field(default=1000.0, gt=0, description="connect latency that counts as slow")


class ReachabilityDetails(CheckDetails):
    connect_ms: float
    speaks_tls: bool | None  # None when the probe was switched off or gave no verdict
    tls_version: str | None = None
    # a name's addresses that did not accept a connection while another one did (dual stack: one family broken)
    unanswered: list[str] = Field(default_factory=list)


SLOW_CONNECT = FindingSpec(
    key="reachability.slow_connect",
    severity=Severity.INFO,
    title="TCP connection set-up is slow",
    meaning="The TCP handshake took longer than the configured threshold (`slow_connect_ms`).",
    remediation="Check the server's load and the network path; a slow handshake often precedes an outage.",
    de=Texts(
        title="TCP-Verbindungsaufbau ist langsam",
        meaning="Der TCP-Verbindungsaufbau (Handshake) dauerte länger als der eingestellte Schwellenwert "
        "(`slow_connect_ms`).",
        remediation="Prüfen Sie die Auslastung des Servers und den Netzwerkweg (Leitung, Firewall, Load Balancer); "
        "ein langsamer Verbindungsaufbau kündigt oft einen Ausfall an.",
    ),
)


ADDRESS_UNREACHABLE = FindingSpec(
    key="reachability.address_unreachable",
    severity=Severity.LOW,
    title="One of the host's addresses does not answer",
    meaning=(
        "The name resolves to several addresses (often IPv6 and IPv4) and at least one of them refused or ignored "
        "the connection while another accepted it. Clients that try the broken address first wait or fail."
    ),
    remediation=(
        "Make the service listen on every address the name publishes (check the IPv6 firewall and the listen "
        "directive), or remove the DNS record (AAAA or A) of the address that does not serve it."
    ),
    de=Texts(
        title="Eine der Adressen des Hosts antwortet nicht",
        meaning="Der Name löst auf mehrere Adressen auf (oft IPv6 und IPv4), und mindestens eine davon hat die "
        "Verbindung abgelehnt oder nicht beantwortet, während eine andere sie angenommen hat. Clients, die zuerst die "
        "gestörte Adresse versuchen, warten lange oder scheitern.",
        remediation="Sorgen Sie dafür, dass der Dienst auf jeder Adresse erreichbar ist, die der Name veröffentlicht: "
        "Prüfen Sie die IPv6-Firewall und die Listen-Konfiguration (nginx `listen [::]:443 ssl;`, Apache `Listen`, "
        "IIS: Sitebindungen der Website). Oder entfernen Sie den DNS-Eintrag (AAAA oder A) der Adresse, die den "
        "Dienst nicht anbietet.",
    ),
)


class ReachabilityCheck(Check[ReachabilityConfig, ReachabilityDetails]):
    name: ClassVar[str] = "reachability"
    description: ClassVar[str] = "TCP connect, connect latency, whether the port speaks TLS"
    config_model = ReachabilityConfig
    details_model = ReachabilityDetails
    findings = (SLOW_CONNECT, ADDRESS_UNREACHABLE)
    metric_families = (
        MetricFamily("posture_reachability_connect_seconds", "TCP connect time of the last run"),
        MetricFamily("posture_reachability_speaks_tls", "1 when the port completed a TLS handshake, 0 when not"),
    )

    def metrics(self, details: ReachabilityDetails, now: datetime) -> Iterable[MetricSample]:
        yield MetricSample("posture_reachability_connect_seconds", (), details.connect_ms / 1000)
        if details.speaks_tls is not None:
            yield MetricSample("posture_reachability_speaks_tls", (), float(details.speaks_tls))

    async def run(self, target: Target, cfg: ReachabilityConfig, ctx: CheckContext) -> ReachabilityDetails:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(cfg.connect_timeout_s):
                _, writer = await asyncio.open_connection(target.connect_to, target.port)
        except TimeoutError:
            raise TargetUnreachable(f"no TCP connection within {cfg.connect_timeout_s:g} s") from None
        except OSError as err:
            raise TargetUnreachable(f"TCP connect failed: {err.strerror or type(err).__name__}") from None
        connect_ms = (time.perf_counter() - started) * 1000
        writer.close()
        await _closed(writer)
        speaks_tls, version = (await self._probe_tls(target, cfg)) if cfg.probe_tls else (None, None)
        others = [address for address in target.addresses if address != target.connect_to]
        answers = await asyncio.gather(*(accepts(address, target.port, cfg.connect_timeout_s) for address in others))
        unanswered = [address for address, answered in zip(others, answers, strict=True) if not answered]
        return ReachabilityDetails(
            connect_ms=round(connect_ms, 3), speaks_tls=speaks_tls, tls_version=version, unanswered=unanswered
        )

    async def _probe_tls(self, target: Target, cfg: ReachabilityConfig) -> tuple[bool | None, str | None]:
        server_name = None if is_ip_literal(target.host) else target.host
        try:
            async with asyncio.timeout(cfg.connect_timeout_s):
                _, writer = await asyncio.open_connection(
                    target.connect_to, target.port, ssl=probe_tls_context(), server_hostname=server_name
                )
        except (ssl.SSLError, ConnectionError, TimeoutError):
            return False, None
        except OSError:
            return None, None
        ssl_object = writer.get_extra_info("ssl_object")
        version = ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else None
        writer.close()
        await _closed(writer)
        return True, version

    def evaluate(self, details: ReachabilityDetails, cfg: ReachabilityConfig, ctx: CheckContext) -> list[Observation]:
        found = []
        if details.connect_ms > cfg.slow_connect_ms:
            found.append(SLOW_CONNECT.observe({"connect_ms": details.connect_ms, "threshold_ms": cfg.slow_connect_ms}))
        if details.unanswered:
            found.append(ADDRESS_UNREACHABLE.observe({"addresses": details.unanswered}))
        return found


async def _closed(writer: asyncio.StreamWriter) -> None:
    # the peer may reset right after the handshake; we only needed the handshake
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()

"""The TLS check's I/O after the quick probe (checks/tls/probe.py): sslyze's scan commands on threads of our own,
turned into facts.

The event loop never blocks: sslyze's connectivity test and its commands' jobs run on daemon threads
(checks/tls/jobs.py), fact conversion in a bounded executor, our own ClientHello probes (checks/tls/hello.py) on the
loop. Each command's outcome is kept on its own; the run stops at its deadline with what completed. On an MX
(`TlsConfig.starttls_for`) sslyze and our ClientHellos go through SMTP STARTTLS first; no HTTP headers are asked for.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.errors import (
    ConnectionToServerFailed,
    ConnectionToServerTimedOut,
    ServerHostnameCouldNotBeResolved,
    ServerRejectedConnection,
    ServerTlsConfigurationNotSupported,
)
from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    AllScanCommandsAttempts,
    ScanCommandsExtraArguments,
    ServerConnectivityStatusEnum,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
    get_scan_command_attempt_cls,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.server_connectivity import ServerConnectivityInfo, check_connectivity_to_server
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from checks.base import TargetUnreachable, is_ip_literal
from checks.shared.certs import analyse_chain, parse_served, prime_trust_stores, trust_anchors
from checks.tls import hello
from checks.tls.closing import RunSockets, owned_by
from checks.tls.closing import install as close_sockets_always
from checks.tls.facts import (
    DEADLINE,
    NO_CONNECTIVITY,
    facts_from_result,
    lost_connections,
)
from checks.tls.http_cap import install as cap_http_reads
from checks.tls.jobs import Attempt, in_daemon_thread, run_commands
from checks.tls.models import CIPHER_COMMANDS, DH_PROBE, AcceptedSuite, TlsConfig, TlsDetails
from checks.tls.probe import Probed
from checks.tls.suites import key_bits
from monitor.models import Target

log = logging.getLogger(__name__)
MAX_SCAN_THREADS = 16
cap_http_reads()
close_sockets_always()
_POOL_LOCK = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def scan_executor(ctx_executor: Executor | None) -> Executor:
    """The daemon's executor when it gives one, else a bounded pool of our own (fact conversion: CPU only)."""
    global _pool
    if ctx_executor is not None:
        return ctx_executor
    with _POOL_LOCK:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_SCAN_THREADS, thread_name_prefix="tls-facts")
        return _pool


def scan_commands(cfg: TlsConfig, port: int) -> set[ScanCommand]:
    """The sslyze scan commands of one TLS check; the bench passes the same list to `python -m sslyze`."""
    commands = set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
    if cfg.asks_http(port):
        commands.add(ScanCommand.HTTP_HEADERS)
    return commands


def build_request(target: Target, cfg: TlsConfig, probed: Probed) -> ServerScanRequest:
    try:
        location = ServerNetworkLocation(hostname=target.host, port=target.port, ip_address=probed.address)
    except ServerHostnameCouldNotBeResolved:
        raise TargetUnreachable(f"DNS: {target.host} does not resolve") from None
    smtp = cfg.starttls_for(target.port) == "smtp"
    network = ServerNetworkConfiguration(
        tls_server_name_indication=target.host,
        network_timeout=cfg.network_timeout_s,
        network_max_retries=cfg.network_max_retries,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum.SMTP if smtp else None,
        smtp_ehlo_hostname=probed.ehlo_name if smtp else None,
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=cfg.ca_file) if cfg.ca_file else None
    )
    return ServerScanRequest(
        server_location=location,
        network_configuration=network,
        scan_commands=scan_commands(cfg, target.port),
        scan_commands_extra_arguments=extra,
    )


async def scan(
    target: Target,
    cfg: TlsConfig,
    executor: Executor | None,
    probed: Probed,
    *,
    stop_at: float,
    connections: int,
) -> TlsDetails:
    """Every scan command that completes before `stop_at` (loop time), each failed one marked untested.

    Commands that failed on connectivity are tried again at one connection at a time (servers that take one
    connection at a time: appliances, `openssl s_server`); `connection_limit` in the facts remembers that it helped.
    """
    request = build_request(target, cfg, probed)
    loop = asyncio.get_running_loop()
    pool = scan_executor(executor)
    await loop.run_in_executor(pool, prime_trust_stores)
    sockets = RunSockets()  # cut when this run ends: no sslyze thread outlives it by more than a moment
    try:
        return await _scan(target, cfg, pool, probed, request, stop_at, connections, sockets)
    finally:
        sockets.cut()


async def _scan(
    target: Target,
    cfg: TlsConfig,
    pool: Executor,
    probed: Probed,
    request: ServerScanRequest,
    stop_at: float,
    connections: int,
    sockets: RunSockets,
) -> TlsDetails:
    loop = asyncio.get_running_loop()
    location, network = request.server_location, request.network_configuration
    try:
        async with asyncio.timeout_at(stop_at):
            probing = await in_daemon_thread(owned_by(sockets, check_connectivity_to_server), location, network)
    except ServerTlsConfigurationNotSupported as err:
        return await first_flights_only(target, cfg, probed, err, stop_at, pool)
    except ConnectionToServerFailed as err:
        raise unreachable(err, cfg) from None
    server = ServerConnectivityInfo(server_location=location, network_configuration=network, tls_probing_result=probing)
    extra = request.scan_commands_extra_arguments
    attempts = await run_commands(
        server, request.scan_commands, extra, connections=connections, stop_at=stop_at, sockets=sockets
    )
    limit = connections
    retry = [command for command, attempt in attempts.items() if lost_connections(attempt)]
    if retry and connections > 1 and loop.time() < stop_at:
        log.info("%s: %s lost handshakes to resets or time-outs; again one connection at a time", target.display,
                 ", ".join(sorted(c.value for c in retry)))  # fmt: skip
        again = await run_commands(server, retry, extra, connections=1, stop_at=stop_at, sockets=sockets)
        recovered = {c: a for c, a in again.items() if _recovered(attempts[c], a)}
        attempts.update(recovered)
        limit = 1 if recovered else connections
    untested = {command.value: DEADLINE for command in request.scan_commands if command not in attempts}
    result = _server_result(request, probing, attempts)
    details = await loop.run_in_executor(pool, facts_from_result, result, target, cfg, untested)
    details = await with_dh_groups(details, probed, target, cfg, stop_at)
    require_core(details)
    return details.model_copy(
        update={"handshake": probed.handshake, "scanned_at": datetime.now(UTC), "connection_limit": limit}
    )


def _recovered(before: Attempt, after: Attempt) -> bool:
    """One connection at a time did better: the command completed, with no handshake cut short, or it found suites
    the parallel run lost."""
    if after.status != ScanCommandAttemptStatusEnum.COMPLETED:
        return False
    if before.status != ScanCommandAttemptStatusEnum.COMPLETED or not lost_connections(after):
        return True
    accepted_after = getattr(after.result, "accepted_cipher_suites", None) or ()
    accepted_before = getattr(before.result, "accepted_cipher_suites", None) or ()
    return len(accepted_after) > len(accepted_before)


def _server_result(request: ServerScanRequest, probing: Any, attempts: dict[ScanCommand, Attempt]) -> ServerScanResult:
    """sslyze's own result type (its Mozilla checker reads it); a command that did not end is NOT_SCHEDULED."""
    every: dict[str, Any] = {}
    for command in ScanCommand:
        attempt = attempts.get(command)
        if attempt is None:
            attempt = get_scan_command_attempt_cls(command)(
                status=ScanCommandAttemptStatusEnum.NOT_SCHEDULED, error_reason=None, error_trace=None, result=None
            )
        every[command.value] = attempt
    return ServerScanResult(
        uuid=request.uuid,
        server_location=request.server_location,
        network_configuration=request.network_configuration,
        connectivity_status=ServerConnectivityStatusEnum.COMPLETED,
        connectivity_error_trace=None,
        connectivity_result=probing,
        scan_status=ServerScanStatusEnum.COMPLETED,
        scan_result=AllScanCommandsAttempts(**every),
    )


def require_core(details: TlsDetails) -> None:
    """A run counts when the certificate or at least one protocol's suites were read; else the server is lost."""
    core = ("certificate_info", *CIPHER_COMMANDS)
    if details.certificate is not None or any(c not in details.scan_errors for c in CIPHER_COMMANDS):
        return
    listing = ", ".join(f"{c} ({details.scan_errors[c]})" for c in core if c in details.scan_errors)
    if all(details.scan_errors.get(c) == DEADLINE for c in core):
        raise TimeoutError(f"the deadline came before the certificate or any protocol was read: {listing}")
    raise TargetUnreachable(f"scan incomplete, the server stopped answering: {listing}")


async def with_dh_groups(
    details: TlsDetails, probed: Probed, target: Target, cfg: TlsConfig, stop_at: float
) -> TlsDetails:
    """The DH group a client without RFC 7919 gets, from our own ClientHello offering only DH suites.

    sslyze's clients refuse groups below 1024 bits and list such suites as rejected, which would hide the weakest
    groups of all. Asked only when no DH suite with its group size is known yet.
    """
    legacy = [p for p in hello.VERSIONS if p in details.suites or (p == "TLSv1.2" and not details.suites)]
    known = any(s.group == "DH" and s.group_bits for suites in details.suites.values() for s in suites)
    if known or not legacy:
        return details
    remaining = stop_at - asyncio.get_running_loop().time()
    if remaining <= 0:
        return details.model_copy(update={"scan_errors": {**details.scan_errors, DH_PROBE: DEADLINE}})
    protocol = legacy[0]
    flight = await hello.first_flight(
        _hello_route(target, cfg, probed), protocol, hello.suites_for(protocol, dh_only=True),
        None if is_ip_literal(target.host) else target.host, min(float(cfg.network_timeout_s), remaining),
    )  # fmt: skip
    if flight is None or flight.dh_bits is None:
        return details
    return details.model_copy(update={"suites": _with_suite(details.suites, flight)})


def _with_suite(
    suites: dict[str, tuple[AcceptedSuite, ...]], flight: hello.ServerFlight
) -> dict[str, tuple[AcceptedSuite, ...]]:
    group = "DH" if flight.dh_bits else flight.curve
    accepted = AcceptedSuite(name=flight.suite, bits=key_bits(flight.suite), group=group, group_bits=flight.dh_bits)
    others = tuple(s for s in suites.get(flight.protocol, ()) if s.name != flight.suite)
    return {**suites, flight.protocol: (*others, accepted)}


async def first_flights_only(
    target: Target,
    cfg: TlsConfig,
    probed: Probed,
    refusal: ConnectionToServerFailed,
    stop_at: float,
    pool: Executor,
) -> TlsDetails:
    """sslyze's clients found no version and suite to talk with: read what the server offers with our own
    ClientHellos (its preferred suite per version, its certificates, its DH group); every sslyze test is untested.
    """
    loop = asyncio.get_running_loop()
    server_name = None if is_ip_literal(target.host) else target.host
    flights: list[hello.ServerFlight] = []
    for protocol in hello.VERSIONS:
        remaining = stop_at - loop.time()
        if remaining <= 0:
            break
        flight = await hello.first_flight(
            _hello_route(target, cfg, probed), protocol, hello.suites_for(protocol), server_name,
            min(float(cfg.network_timeout_s), remaining),
        )  # fmt: skip
        if flight is not None:
            flights.append(flight)
    if not flights:
        raise unreachable(refusal, cfg)
    suites: dict[str, tuple[AcceptedSuite, ...]] = {}
    for flight in flights:
        suites = _with_suite(suites, flight)
    served = next((f.certificates for f in flights if f.certificates), ())
    chain = await loop.run_in_executor(pool, _chain, served, cfg)
    log.info("%s: sslyze found no way to talk to it (%s); read its first flights", target.display, _tail(str(refusal)))
    untested = {
        c.value: NO_CONNECTIVITY
        for c in scan_commands(cfg, target.port)
        if c.value != "certificate_info" or chain is None
    }
    return TlsDetails(
        host=target.host,
        port=target.port,
        sni=server_name or "",
        starttls=cfg.starttls_for(target.port),
        certificate=chain,
        suites=suites,
        scan_errors=untested,
        handshake=probed.handshake,
        scanned_at=datetime.now(UTC),
    )


def _hello_route(target: Target, cfg: TlsConfig, probed: Probed) -> hello.Route:
    return hello.Route(probed.address, target.port, cfg.starttls_for(target.port), probed.ehlo_name)


def _chain(served: tuple[bytes, ...], cfg: TlsConfig) -> Any:
    certificates = parse_served(served)
    return analyse_chain(certificates, trust_anchors(cfg.ca_file)) if certificates else None


def unreachable(err: ConnectionToServerFailed, cfg: TlsConfig) -> TargetUnreachable:
    if isinstance(err, ConnectionToServerTimedOut):
        return TargetUnreachable(f"no answer within {cfg.network_timeout_s} s ({cfg.network_max_retries} retries)")
    if isinstance(err, ServerRejectedConnection):
        return TargetUnreachable("TCP connection refused")
    return TargetUnreachable(f"no TLS handshake possible: {_tail(str(err))}")


def _tail(message: str) -> str:
    # sslyze's messages read 'host:port -> "reason".': keep the reason
    return message.split("->", 1)[-1].strip().strip('."')

"""sslyze I/O: a quick probe on the event loop, then the sslyze scan in a worker thread, turned into facts.

sslyze is blocking and thread-based. Scans go through `BATCHER` (checks/tls/batch.py): one Scanner per batch of
targets requested together, run in a bounded executor, so the event loop never blocks. A started Scanner cannot
be cancelled: when the runner's deadline fires, the awaiting coroutine stops waiting at once and the late result
is dropped; each Scanner is bounded by its batch size and by `network_timeout` times retries per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import socket
import ssl
import threading
import warnings
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from nassl._nassl import OpenSSLError
from sslyze.errors import (
    ConnectionToServerFailed,
    ConnectionToServerTimedOut,
    ServerHostnameCouldNotBeResolved,
    ServerRejectedConnection,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    ServerScanResultIncomplete,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from checks.base import CheckMisconfigured, TargetUnreachable, is_ip_literal, probe_tls_context
from checks.tls.batch import ScanBatcher
from checks.tls.certs import TrustAnchors, analyse_chain, load_pem_bundle
from checks.tls.http_cap import install as cap_http_reads
from checks.tls.models import (
    AcceptedSuite,
    CertificateChain,
    Handshake,
    HttpFacts,
    TlsConfig,
    TlsDetails,
    VulnFacts,
)
from checks.tls.suites import canonical_curve, curve_bits
from monitor.models import Target

MAX_SCAN_THREADS = 16
BATCHER = ScanBatcher()
cap_http_reads()
_POOL_LOCK = threading.Lock()
_pool: ThreadPoolExecutor | None = None

# field of sslyze's AllScanCommandsAttempts → our protocol label
CIPHER_COMMANDS: dict[str, str] = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


def scan_executor(ctx_executor: Executor | None) -> Executor:
    """The daemon's executor when it gives one, else a bounded pool of our own."""
    global _pool
    if ctx_executor is not None:
        return ctx_executor
    with _POOL_LOCK:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_SCAN_THREADS, thread_name_prefix="tls-scan")
        return _pool


def scan_commands(cfg: TlsConfig) -> set[ScanCommand]:
    """The sslyze scan commands of one TLS check; the bench passes the same list to `python -m sslyze`."""
    commands = set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
    if cfg.http_headers:
        commands.add(ScanCommand.HTTP_HEADERS)
    return commands


def build_request(target: Target, cfg: TlsConfig, address: str) -> ServerScanRequest:
    try:
        location = ServerNetworkLocation(hostname=target.host, port=target.port, ip_address=address)
    except ServerHostnameCouldNotBeResolved:
        raise TargetUnreachable(f"DNS: {target.host} does not resolve") from None
    network = ServerNetworkConfiguration(
        tls_server_name_indication=target.host,
        network_timeout=cfg.network_timeout_s,
        network_max_retries=cfg.network_max_retries,
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=cfg.ca_file) if cfg.ca_file else None
    )
    return ServerScanRequest(
        server_location=location,
        network_configuration=network,
        scan_commands=scan_commands(cfg),
        scan_commands_extra_arguments=extra,
    )


async def quick_handshake(target: Target, cfg: TlsConfig) -> tuple[str, Handshake | None]:
    """The address to scan and what one handshake shows (None when it could not complete here)."""
    if cfg.ca_file is not None and not cfg.ca_file.is_file():
        raise CheckMisconfigured(f"ca_file {cfg.ca_file} is not a readable file")
    address = str(cfg.address) if cfg.address is not None else target.address or await resolve(target)
    return address, await probe(target, cfg, address)


async def scan(
    target: Target, cfg: TlsConfig, executor: Executor | None, probed: tuple[str, Handshake | None] | None = None
) -> TlsDetails:
    address, handshake = probed or await quick_handshake(target, cfg)
    request = build_request(target, cfg, address)
    pool = scan_executor(executor)
    if _primed is None:
        await asyncio.get_running_loop().run_in_executor(pool, _prime_trust_stores)
    return await BATCHER.scan(
        request,
        functools.partial(_finish, target=target, cfg=cfg, handshake=handshake),
        connections_per_server=cfg.connections_per_server,
        executor=pool,
    )


async def resolve(target: Target) -> str:
    """The address to scan, resolved without blocking the loop (sslyze would resolve synchronously)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetUnreachable(f"DNS: {target.host} does not resolve") from None
    if not infos:
        raise TargetUnreachable(f"DNS: {target.host} has no address")
    return str(infos[0][4][0])


async def probe(target: Target, cfg: TlsConfig, address: str) -> Handshake | None:
    """One quick handshake on the event loop, so that a dead, silent or non-TLS port fails fast and clearly.

    sslyze's own connectivity test tries several protocol versions, each with the full network timeout, and
    reports every failure as "no TLS version supported". A handshake the probe cannot complete for protocol
    reasons (e.g. an SSL 3.0-only server) is left to sslyze.
    """
    timeout = float(cfg.network_timeout_s)
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, target.port)
    except TimeoutError:
        raise TargetUnreachable(f"no TCP connection within {timeout:g} s") from None
    except OSError as err:
        raise TargetUnreachable(f"TCP connect failed: {err.strerror or type(err).__name__}") from None
    try:
        async with asyncio.timeout(timeout):
            await writer.start_tls(
                probe_tls_context(), server_hostname=None if is_ip_literal(target.host) else target.host
            )
    except TimeoutError:
        raise TargetUnreachable(
            f"no TLS handshake within {timeout:g} s: the port accepts TCP but does not answer a ClientHello"
        ) from None
    except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
        raise TargetUnreachable("the server closed the connection during the TLS handshake") from None
    except ssl.SSLError as err:
        if err.reason in _NOT_TLS_REASONS:
            raise TargetUnreachable(f"the port does not speak TLS ({err.reason})") from None
        # a TLS alert or a protocol we cannot speak here: sslyze knows more versions and suites
        return None
    else:
        return _handshake(writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(1):
                await writer.wait_closed()
        del reader


# OpenSSL reason codes (ssl.SSLError.reason) meaning "the peer's bytes are not a TLS record"
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "RECORD_LAYER_FAILURE",
                              "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"})  # fmt: skip


def _handshake(writer: asyncio.StreamWriter) -> Handshake | None:
    ssl_object = writer.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    try:
        certificate = ssl_object.getpeercert(binary_form=True)
    except ValueError:  # "handshake not done yet": the server already asked to renegotiate
        return None
    cipher = ssl_object.cipher()
    if not certificate or cipher is None:
        return None
    return Handshake(
        certificate_sha256=hashlib.sha256(certificate).hexdigest(),
        protocol=ssl_object.version() or "",
        cipher=cipher[0],
    )


def _finish(result: ServerScanResult, target: Target, cfg: TlsConfig, handshake: Handshake | None = None) -> TlsDetails:
    """Runs in the batch's worker thread: one sslyze result to facts, or the reason there are none."""
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        raise _unreachable(result.connectivity_error_trace, cfg)
    details = facts_from_result(result, target, cfg)
    require_complete(details.scan_errors)
    return details.model_copy(update={"handshake": handshake, "scanned_at": datetime.now(UTC)})


class IncompleteScanError(RuntimeError):
    """sslyze failed on our side (a bug or wrong usage): the runner reports it as crashed."""


def require_complete(scan_errors: dict[str, str]) -> None:
    """Partial facts must not count as a clean run: an absent finding would look resolved.

    A failed scan command makes the whole run unreachable (connectivity, client certificate required) or crashed
    (sslyze bug, wrong usage); the commands and reasons are in the message.
    """
    if not scan_errors:
        return
    listing = ", ".join(f"{command} ({reason})" for command, reason in sorted(scan_errors.items()))
    reasons = set(scan_errors.values())
    if reasons <= {"CONNECTIVITY_ISSUE", "CLIENT_CERTIFICATE_NEEDED"}:
        raise TargetUnreachable(f"scan incomplete, the server stopped answering: {listing}")
    raise IncompleteScanError(f"sslyze could not run: {listing}")


def _unreachable(trace: Any, cfg: TlsConfig) -> TargetUnreachable:
    exc_type = getattr(trace, "exc_type", None)
    message = "".join(trace.format_exception_only()).strip() if trace is not None else "no connectivity"
    if isinstance(exc_type, type) and issubclass(exc_type, ConnectionToServerTimedOut):
        return TargetUnreachable(f"no answer within {cfg.network_timeout_s} s ({cfg.network_max_retries} retries)")
    if isinstance(exc_type, type) and issubclass(exc_type, ServerRejectedConnection):
        return TargetUnreachable("TCP connection refused")
    if isinstance(exc_type, type) and issubclass(exc_type, ConnectionToServerFailed):
        return TargetUnreachable(f"no TLS handshake possible: {_tail(message)}")
    return TargetUnreachable(f"connectivity test failed: {_tail(message)}")


def _tail(message: str) -> str:
    # sslyze's messages read 'host:port -> "reason".': keep the reason
    return message.split("->", 1)[-1].strip().strip('."')


def facts_from_result(result: ServerScanResult, target: Target, cfg: TlsConfig) -> TlsDetails:
    attempts = result.scan_result
    errors: dict[str, str] = {}

    def completed(field: str) -> Any:
        attempt = getattr(attempts, field)
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED:
            return attempt.result
        if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
            errors[field] = _error_reason(attempt)
        return None

    suites: dict[str, tuple[AcceptedSuite, ...]] = {}
    for field, label in CIPHER_COMMANDS.items():
        cipher_result = completed(field)
        if cipher_result is not None and cipher_result.is_tls_version_supported:
            suites[label] = tuple(_accepted(a) for a in cipher_result.accepted_cipher_suites)
    curves_result = completed("elliptic_curves")
    curves = tuple(canonical_curve(c.name) for c in (curves_result.supported_curves or ())) if curves_result else ()
    details = TlsDetails(
        host=target.host,
        port=target.port,
        sni=result.network_configuration.tls_server_name_indication,
        certificate=_certificate(completed("certificate_info"), cfg),
        suites=suites,
        curves=curves,
        vulns=_vulns(completed),
        http=_http(completed("http_headers")) if cfg.http_headers else None,
        mozilla_intermediate=_mozilla(result),
        scan_errors=errors,
    )
    return details


def _error_reason(attempt: Any) -> str:
    """sslyze's reason for a failed scan command, with the server's refusals and resets counted as connectivity.

    sslyze files only timeouts and rejected handshakes under CONNECTIVITY_ISSUE; a refused or reset connection in
    the middle of a scan (a server that takes one connection at a time, or one that drops some) comes back as
    BUG_IN_SSLYZE, which would report a hostile target's behaviour as our own crash.
    """
    reason = attempt.error_reason.value if attempt.error_reason else "error"
    exc_type = getattr(attempt.error_trace, "exc_type", None)
    if reason == "BUG_IN_SSLYZE" and isinstance(exc_type, type) and issubclass(exc_type, _TARGET_FAILURES):
        return "CONNECTIVITY_ISSUE"
    return reason


_TARGET_FAILURES = (ConnectionToServerFailed, OSError, OpenSSLError)  # OpenSSLError: e.g. a corrupt record


def _accepted(accepted: Any) -> AcceptedSuite:
    key = accepted.ephemeral_key
    group: str | None = None
    group_bits: int | None = None
    if key is not None:
        curve_name = getattr(key, "curve_name", None)
        if curve_name is not None:
            group = canonical_curve(curve_name)
            group_bits = curve_bits(group) or key.size
        else:
            group, group_bits = "DH", key.size
    return AcceptedSuite(
        name=accepted.cipher_suite.name, bits=accepted.cipher_suite.key_size, group=group, group_bits=group_bits
    )


def _certificate(cert_result: Any, cfg: TlsConfig) -> CertificateChain | None:
    if cert_result is None or not cert_result.certificate_deployments:
        return None
    deployment = cert_result.certificate_deployments[0]
    served: list[x509.Certificate] = list(deployment.received_certificate_chain)
    results = deployment.path_validation_results
    # cryptography's verdicts are kept as evidence only when no trust store accepted the chain
    errors = (
        []
        if any(r.was_validation_successful for r in results)
        else [f"{r.trust_store.name}: {r.validation_error}" for r in results if r.validation_error]
    )
    return analyse_chain(served, trust_anchors(cfg.ca_file), errors)


def trust_anchors(ca_file: Path | None) -> TrustAnchors:
    main = _main_anchors(_prime_trust_stores())
    if ca_file is None:
        return main
    return _with_bundle(main, ca_file.resolve(), ca_file.stat().st_mtime_ns)


@lru_cache(maxsize=1)
def _main_anchors(certificates: tuple[x509.Certificate, ...]) -> TrustAnchors:
    return TrustAnchors.of(certificates)


@lru_cache(maxsize=16)
def _with_bundle(main: TrustAnchors, path: Path, _mtime_ns: int) -> TrustAnchors:
    # keyed on mtime: a renewed bundle is indexed again
    return main.plus(TrustAnchors.of(load_pem_bundle(path)))


_PRIME_LOCK = threading.Lock()
_primed: tuple[x509.Certificate, ...] | None = None


def _prime_trust_stores() -> tuple[x509.Certificate, ...]:
    """Load sslyze's bundled stores once, before its worker threads do.

    Mozilla's store holds a root with a negative serial number, for which cryptography emits a deprecation
    warning on every parse; we parse once, with that one warning category silenced, and sslyze keeps the result.
    """
    global _primed
    with _PRIME_LOCK:
        if _primed is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                main = TrustStoresRepository.get_default().get_main_store().path
                _primed = load_pem_bundle(main)
        return _primed


def _vulns(completed: Any) -> VulnFacts:
    heartbleed = completed("heartbleed")
    ccs = completed("openssl_ccs_injection")
    robot = completed("robot")
    compression = completed("tls_compression")
    reneg = completed("session_renegotiation")
    scsv = completed("tls_fallback_scsv")
    ems = completed("tls_extended_master_secret")
    return VulnFacts(
        heartbleed=heartbleed.is_vulnerable_to_heartbleed if heartbleed else None,
        ccs_injection=ccs.is_vulnerable_to_ccs_injection if ccs else None,
        robot=robot.robot_result.value if robot else None,
        compression=compression.supports_compression if compression else None,
        secure_renegotiation=reneg.supports_secure_renegotiation if reneg else None,
        client_renegotiation=reneg.is_vulnerable_to_client_renegotiation_dos if reneg else None,
        fallback_scsv=scsv.supports_fallback_scsv if scsv else None,
        extended_master_secret=ems.supports_ems_extension if ems else None,
    )


def _http(headers: Any) -> HttpFacts | None:
    if headers is None:
        return None
    if headers.http_error_trace is not None:
        message = "".join(headers.http_error_trace.format_exception_only()).strip()
        return HttpFacts(answered=False, error=message[:200])
    hsts = headers.strict_transport_security_header
    return HttpFacts(
        answered=True,
        hsts_present=hsts is not None,
        hsts_max_age=hsts.max_age if hsts is not None else None,
        hsts_include_subdomains=bool(hsts.include_subdomains) if hsts is not None else False,
    )


@lru_cache(maxsize=1)
def _mozilla_intermediate() -> Any:
    return MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)


def _mozilla(result: ServerScanResult) -> dict[str, str] | None:
    """sslyze's own Mozilla 'intermediate' checker; None when the scan lacks what it needs."""
    config = _mozilla_intermediate()
    try:
        check_server_against_tls_configuration(result, config)
    except ServerNotCompliantWithTlsConfiguration as err:
        return dict(err.issues)
    except ServerScanResultIncomplete:
        return None
    return {}

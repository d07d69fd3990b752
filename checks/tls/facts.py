"""sslyze's per-command results turned into TLS facts, each failed or missing command recorded as an untested part.

Runs in a worker thread (certificate analysis is CPU work). Pure apart from reading the trust stores.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography import x509
from nassl._nassl import OpenSSLError
from sslyze.errors import ConnectionToServerFailed, ServerRejectedTlsHandshake
from sslyze.mozilla_tls_profile.tls_config_checker import (
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    ServerScanResultIncomplete,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)
from sslyze.scanner.models import ServerScanResult
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum

from checks.shared.certs import analyse_chain, trust_anchors
from checks.tls.models import (
    CIPHER_COMMANDS,
    AcceptedSuite,
    CertificateChain,
    HttpFacts,
    TlsConfig,
    TlsDetails,
    VulnFacts,
)
from checks.tls.suites import canonical_curve, curve_bits
from monitor.models import Target

# why a part was not tested, beyond sslyze's own error reasons (ScanCommandErrorReasonEnum)
CONNECTIVITY = "CONNECTIVITY_ISSUE"
DEADLINE = "DEADLINE"  # the run's deadline came first
NOT_APPLICABLE = "NOT_APPLICABLE"  # sslyze cannot run this test against this server (e.g. SSL 3.0 only)
NO_CONNECTIVITY = "NO_SSLYZE_CONNECTIVITY"  # sslyze's clients could not talk to the server at all
HANDSHAKE_REJECTED = "HANDSHAKE_REJECTED"  # the server refused the handshake this test needs (no suite in common)


def facts_from_result(
    result: ServerScanResult, target: Target, cfg: TlsConfig, untested: dict[str, str] | None = None
) -> TlsDetails:
    """Facts from every command that completed; each other command is an untested part, with its reason.

    `untested` names the commands known not to have run (the deadline came first).
    """
    attempts = result.scan_result
    errors: dict[str, str] = dict(untested or {})

    def completed(field: str) -> Any:
        attempt = getattr(attempts, field)
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED:
            if lost_connections(attempt):  # what was accepted stays reported; what was "rejected" is unknown
                errors[field] = CONNECTIVITY
            return attempt.result
        if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
            errors[field] = error_reason(attempt)
        return None

    suites: dict[str, tuple[AcceptedSuite, ...]] = {}
    for field, label in CIPHER_COMMANDS.items():
        cipher_result = completed(field)
        if cipher_result is not None and cipher_result.is_tls_version_supported:
            suites[label] = tuple(_accepted(a) for a in cipher_result.accepted_cipher_suites)
    curves_result = completed("elliptic_curves")
    curves = tuple(canonical_curve(c.name) for c in (curves_result.supported_curves or ())) if curves_result else ()
    return TlsDetails(
        host=target.host,
        port=target.port,
        sni=result.network_configuration.tls_server_name_indication,
        starttls=cfg.starttls_for(target.port),
        certificate=_certificate(completed("certificate_info"), cfg),
        suites=suites,
        curves=curves,
        vulns=_vulns(completed),
        http=_http(completed("http_headers")) if cfg.asks_http(target.port) else None,
        mozilla_intermediate=_mozilla(result),
        scan_errors=errors,
    )


def error_reason(attempt: Any) -> str:
    """sslyze's reason for a failed scan command, with the server's refusals and resets counted as connectivity.

    sslyze files only timeouts and rejected handshakes under CONNECTIVITY_ISSUE; a refused or reset connection in
    the middle of a scan (a server that takes one connection at a time, or one that drops some) comes back as
    BUG_IN_SSLYZE, which would report a hostile target's behaviour as our own crash. So does a test sslyze cannot
    make on an SSL 3.0-only server (its modern client has no SSL 3.0). A handshake the server refuses is not a
    connectivity problem: sslyze's client for that test shares no suite with a server that offers only legacy ones.
    """
    reason = attempt.error_reason.value if attempt.error_reason else "error"
    trace = attempt.error_trace
    exc_type = getattr(trace, "exc_type", None)
    if reason == CONNECTIVITY and isinstance(exc_type, type) and issubclass(exc_type, ServerRejectedTlsHandshake):
        return CONNECTIVITY if lost_connection(str(trace)) else HANDSHAKE_REJECTED
    if reason == "BUG_IN_SSLYZE" and isinstance(exc_type, type):
        if issubclass(exc_type, _TARGET_FAILURES):
            return CONNECTIVITY
        if issubclass(exc_type, ValueError) and "SSL 2.0 or 3.0" in str(trace):
            return NOT_APPLICABLE
    return reason


def lost_connections(attempt: Any) -> bool:
    """The command failed on connectivity, or (cipher suites) counted suites as rejected whose handshakes a reset
    or a time-out cut short: sslyze files those under "rejected", which would hide accepted suites."""
    if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
        return error_reason(attempt) == CONNECTIVITY
    rejected = getattr(attempt.result, "rejected_cipher_suites", None) or ()
    return any(lost_connection(r.error_message) for r in rejected)


def lost_connection(message: str) -> bool:
    """sslyze's words for a handshake that a reset or a time-out cut short (not the server's TLS answer)."""
    return any(words in message for words in _LOST_CONNECTION)


# sslyze's error_message of a reset (a socket ConnectionError during the handshake) and of a handshake time-out
_LOST_CONNECTION = ("Server rejected the connection", "timed out")
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

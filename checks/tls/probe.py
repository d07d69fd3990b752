"""The TLS check's quick probe: one handshake on the event loop before sslyze, through SMTP STARTTLS on an MX.

It fails a dead, silent or non-TLS port fast and with a clear reason, and its handshake tells whether the server
changed since the last full scan (`full_scan_every_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from dataclasses import dataclass

from checks.base import CheckMisconfigured, TargetUnreachable, is_ip_literal, probe_tls_context
from checks.shared.smtp import address_literal
from checks.tls.models import Handshake, TlsConfig
from checks.tls.starttls import StarttlsFailed, smtp_starttls
from monitor.models import Target


@dataclass(frozen=True, slots=True)
class Probed:
    """What the quick probe found before the scan."""

    address: str  # the address to scan
    handshake: Handshake | None  # None when it could not complete here
    ehlo_name: str | None = None  # through SMTP STARTTLS: how the probe greeted (an address literal of our end)


async def quick_handshake(target: Target, cfg: TlsConfig) -> Probed:
    """The address to scan and what one handshake shows."""
    if cfg.ca_file is not None and not cfg.ca_file.is_file():
        raise CheckMisconfigured(f"ca_file {cfg.ca_file} is not a readable file")
    address = str(cfg.address) if cfg.address is not None else target.address or await resolve(target)
    return await probe(target, cfg, address)


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


async def probe(target: Target, cfg: TlsConfig, address: str) -> Probed:
    """One quick handshake on the event loop, so that a dead, silent or non-TLS port fails fast and clearly.

    sslyze's own connectivity test tries several protocol versions, each with the full network timeout, and
    reports every failure as "no TLS version supported". A handshake the probe cannot complete for protocol
    reasons (e.g. an SSL 3.0-only server) is left to sslyze. Through SMTP STARTTLS, a server that does not get us
    to a handshake is unreachable with the reason.
    """
    timeout = float(cfg.network_timeout_s)
    starttls = cfg.starttls_for(target.port)
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(address, target.port)
    except TimeoutError:
        raise TargetUnreachable(f"no TCP connection within {timeout:g} s") from None
    except OSError as err:
        raise TargetUnreachable(f"TCP connect failed: {err.strerror or type(err).__name__}") from None
    ehlo_name = address_literal(writer) if starttls == "smtp" else None
    try:
        if starttls == "smtp":
            await _smtp_starttls(reader, writer, ehlo_name, timeout)
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
        return Probed(address, None, ehlo_name)
    else:
        return Probed(address, _handshake(writer), ehlo_name)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(1):
                await writer.wait_closed()
        del reader


async def _smtp_starttls(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ehlo_name: str | None, within_s: float
) -> None:
    try:
        async with asyncio.timeout(within_s):
            await smtp_starttls(reader, writer, ehlo_name)
    except TimeoutError:
        raise TargetUnreachable(
            f"SMTP STARTTLS did not reach the TLS handshake within {within_s:g} s (starttls = smtp: a silent server, "
            "or one that speaks TLS from the first byte)"
        ) from None
    except StarttlsFailed as err:
        raise TargetUnreachable(f"SMTP STARTTLS failed: {err.reason}") from None


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

"""One ClientHello of our own, on the event loop, and what the server answers up to ServerHelloDone.

sslyze's clients (OpenSSL 1.0.2 and 1.1.1 in nassl) refuse Diffie-Hellman groups below 768 or 1024 bits and some
legacy configurations outright, so such a server looks as if it accepted nothing, or as unreachable. Reading the
server's first flight needs no handshake to complete: ServerHello names the version and suite, Certificate (plain
text before TLS 1.3) the chain, ServerKeyExchange the DH prime or the curve. Everything read is bounded and
parsed defensively; an answer that does not parse is "no answer".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from checks.tls.starttls import StarttlsFailed, smtp_starttls

MAX_FLIGHT_BYTES = 256 * 1024  # a certificate chain of a few kB; anything near this is not a TLS server
VERSIONS: dict[str, tuple[int, int]] = {"TLSv1.2": (3, 3), "TLSv1.1": (3, 2), "TLSv1.0": (3, 1), "SSLv3": (3, 0)}
_HANDSHAKE, _ALERT = 22, 21
_SERVER_HELLO, _CERTIFICATE, _SERVER_KEY_EXCHANGE, _SERVER_HELLO_DONE = 2, 11, 12, 14
# secp256r1, secp384r1, secp521r1, x25519, x448, then old binary and Brainpool curves; no RFC 7919 ffdhe groups,
# so a server answers with the DH group it gives clients that do not know them (most of those that use DHE)
_GROUPS = (23, 24, 25, 29, 30, 1, 3, 6, 9, 14, 19, 21, 22, 26, 27, 28)
# SHA-512 … SHA-1 and MD5 with RSA, ECDSA and DSA; RSA-PSS
_SIGNATURE_ALGORITHMS = (
    0x0601, 0x0603, 0x0501, 0x0503, 0x0401, 0x0403, 0x0804, 0x0805, 0x0806, 0x0301, 0x0303, 0x0201, 0x0203,
    0x0202, 0x0402, 0x0101,
)  # fmt: skip
_NAMED_CURVES = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "X25519", 30: "X448"}


@dataclass(frozen=True, slots=True)
class Route:
    """Where a ClientHello goes: an address and port, through SMTP STARTTLS first when `starttls` says so."""

    address: str
    port: int
    starttls: Literal["smtp"] | None = None
    ehlo_name: str | None = None  # None: an address literal of our end


@dataclass(frozen=True, slots=True)
class ServerFlight:
    protocol: str  # SSLv3 … TLSv1.2
    suite: str  # IANA name
    certificates: tuple[bytes, ...] = ()  # DER, leaf first, as sent
    dh_bits: int | None = None  # size of the DH prime in ServerKeyExchange
    curve: str | None = None  # named curve in ServerKeyExchange


@lru_cache(maxsize=1)
def suite_names() -> dict[int, str]:
    """IANA value → name of every 2-byte cipher suite we know (checks/tls/cipher_suites.txt)."""
    names: dict[int, str] = {}
    for line in (Path(__file__).parent / "cipher_suites.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        value, name = line.split()
        high, low = (int(part, 16) for part in value.split(","))
        names[high << 8 | low] = name
    return names


def suites_for(protocol: str, *, dh_only: bool = False) -> list[int]:
    """The suites a ClientHello of `protocol` offers: every suite before TLS 1.3, or only the ephemeral DH ones."""

    def offered(value: int, name: str) -> bool:
        if value >> 8 == 0x13:  # TLS 1.3 suites are not negotiated by these versions
            return False
        if dh_only and not _ephemeral_dh(name):
            return False
        # SSL 3.0 knows neither SHA-2 MACs nor GCM
        return protocol != "SSLv3" or not (name.endswith(("_SHA256", "_SHA384")) or "_GCM_" in name)

    return [value for value, name in suite_names().items() if offered(value, name)]


def _ephemeral_dh(suite: str) -> bool:
    """A finite-field DH suite whose group the server sends in ServerKeyExchange."""
    return "_DHE_" in suite or "_DH_anon_" in suite or "_EDH_" in suite


def client_hello(protocol: str, suites: Sequence[int], server_name: str | None) -> bytes:
    """A ClientHello record for `protocol` offering `suites` (and the renegotiation SCSV)."""
    major, minor = VERSIONS[protocol]
    ciphers = b"".join(struct.pack("!H", s) for s in (*suites, 0x00FF))
    extensions = b""
    if protocol != "SSLv3":
        if server_name:
            name = server_name.encode("idna")
            entry = b"\x00" + struct.pack("!H", len(name)) + name
            extensions += _extension(0, struct.pack("!H", len(entry)) + entry)
        groups = b"".join(struct.pack("!H", g) for g in _GROUPS)
        extensions += _extension(10, struct.pack("!H", len(groups)) + groups)
        extensions += _extension(11, b"\x01\x00")
        if protocol == "TLSv1.2":
            algorithms = b"".join(struct.pack("!H", a) for a in _SIGNATURE_ALGORITHMS)
            extensions += _extension(13, struct.pack("!H", len(algorithms)) + algorithms)
    body = bytes([major, minor]) + os.urandom(32) + b"\x00" + struct.pack("!H", len(ciphers)) + ciphers + b"\x01\x00"
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + body
    record_version = bytes([3, min(minor, 1)])  # TLS 1.0 in the record layer, as clients do for compatibility
    return bytes([_HANDSHAKE]) + record_version + struct.pack("!H", len(handshake)) + handshake


def _extension(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


async def first_flight(
    route: Route, protocol: str, suites: Sequence[int], server_name: str | None, timeout_s: float
) -> ServerFlight | None:
    """What the server sends after our ClientHello, up to ServerHelloDone; None when it refuses or says nothing
    we can read (an alert, a close, another protocol version than asked for, a time-out, no STARTTLS)."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(route.address, route.port)
            try:
                if route.starttls == "smtp":
                    await smtp_starttls(reader, writer, route.ehlo_name)
                writer.write(client_hello(protocol, suites, server_name))
                await writer.drain()
                return parse_flight(await _handshake_bytes(reader), protocol)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, StarttlsFailed):
        return None


async def _handshake_bytes(reader: asyncio.StreamReader) -> bytes:
    """The handshake records' payloads, up to the ServerHelloDone message."""
    payload = b""
    while len(payload) < MAX_FLIGHT_BYTES:
        header = await reader.readexactly(5)
        kind, length = header[0], struct.unpack("!H", header[3:5])[0]
        data = await reader.readexactly(length)
        if kind == _ALERT:
            raise ValueError("alert")
        if kind != _HANDSHAKE:
            raise ValueError(f"record type {kind}")
        payload += data
        if _has_message(payload, _SERVER_HELLO_DONE):
            return payload
    raise ValueError("flight too long")


def _messages(payload: bytes) -> list[tuple[int, bytes]]:
    messages, offset = [], 0
    while offset + 4 <= len(payload):
        kind, length = payload[offset], int.from_bytes(payload[offset + 1 : offset + 4], "big")
        if offset + 4 + length > len(payload):
            break
        messages.append((kind, payload[offset + 4 : offset + 4 + length]))
        offset += 4 + length
    return messages


def _has_message(payload: bytes, kind: int) -> bool:
    return any(k == kind for k, _ in _messages(payload))


def parse_flight(payload: bytes, protocol: str) -> ServerFlight | None:
    messages = dict(_messages(payload))
    hello = messages.get(_SERVER_HELLO)
    if hello is None or len(hello) < 38:
        return None
    if (hello[0], hello[1]) != VERSIONS[protocol]:
        return None  # the server chose another version: that one is probed on its own
    session_length = hello[34]
    value = struct.unpack("!H", hello[35 + session_length : 37 + session_length])[0]
    suite = suite_names().get(value, f"0x{value:04X}")
    certificates = _certificates(messages.get(_CERTIFICATE, b""))
    dh_bits, curve = _key_exchange(messages.get(_SERVER_KEY_EXCHANGE, b""), suite)
    return ServerFlight(protocol, suite, certificates, dh_bits, curve)


def _certificates(body: bytes) -> tuple[bytes, ...]:
    if len(body) < 3:
        return ()
    end = min(len(body), 3 + int.from_bytes(body[:3], "big"))
    found, offset = [], 3
    while offset + 3 <= end:
        length = int.from_bytes(body[offset : offset + 3], "big")
        found.append(body[offset + 3 : offset + 3 + length])
        offset += 3 + length
    return tuple(found)


def _key_exchange(body: bytes, suite: str) -> tuple[int | None, str | None]:
    if len(body) < 4:
        return None, None
    if _ephemeral_dh(suite):
        length = struct.unpack("!H", body[:2])[0]
        prime = int.from_bytes(body[2 : 2 + length], "big")
        return (prime.bit_length() or None), None
    if ("_ECDHE_" in suite or "_ECDH_anon_" in suite) and body[0] == 3:  # a named curve follows
        value = struct.unpack("!H", body[1:3])[0]
        return None, _NAMED_CURVES.get(value, f"group 0x{value:04X}")
    return None, None

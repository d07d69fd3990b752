"""Legacy TLS servers on loopback that Debian's OpenSSL 3 cannot be: tlslite-ng (pure Python) serves them.

SSL 3.0, RC4, 3DES, NULL and anonymous suites, and DH groups of 512 bits, each in its own subprocess
(`python legacy_servers.py serve spec.json 127.0.0.x`) like tests/checks/tls_servers.py, so that the benchmark and
testssl.sh can use the same servers. Two behaviours of old appliances can be switched on: taking one connection at
a time (the others wait while a slow one is served) and resetting every connection of one kind of test.
SSL 2.0 and EXPORT suites cannot be served: tlslite-ng has neither.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tls_servers import RunningServer, serve_until_orphaned, spawn
from tls_servers import running as tls_running

LOOPBACK = "127.0.0.5"
# a 512-bit safe prime made with `openssl dhparam 512` for these tests (generator 2)
WEAK_DH_PRIME_512 = int(
    "86bef29180c0a4974428785df2fcbdf6223cbab0421c2a09775c132f59ea20ff"
    "4d39157ca8e119b52d4955f466e9748da6971c2ad7243b139c066c3b40923297",
    16,
)


@dataclass
class LegacySpec:
    """One legacy server. Names are tlslite-ng's: versions as (3, minor), ciphers like "rc4", "3des", "null"."""

    name: str  # also the host name the check registers (SNI; tlslite refuses an IP address as SNI)
    chain_pem: str
    key_pem: str
    min_version: tuple[int, int] = (3, 1)
    max_version: tuple[int, int] = (3, 3)
    ciphers: list[str] = field(default_factory=lambda: ["aes128gcm", "aes256gcm", "aes128", "aes256"])
    macs: list[str] = field(default_factory=lambda: ["sha", "sha256", "sha384", "aead"])
    key_exchanges: list[str] = field(default_factory=lambda: ["ecdhe_rsa", "rsa", "dhe_rsa"])
    dh_prime: int | None = None  # a DHE group of this prime for every client (no RFC 7919 groups)
    anonymous: bool = False  # anonymous suites only (no certificate)
    # one connection at a time, like a small appliance: the others wait; a successful handshake keeps the server
    # busy this long afterwards (0: connections are served concurrently)
    busy_after_handshake_s: float = 0.0
    # reset every handshake without SNI, as some virtual-host front ends do; of sslyze's tests on TLS, only the
    # Heartbleed and CCS injection tests leave SNI out (and SSL 2.0 and 3.0 hellos have no extensions)
    reset_without_sni: bool = False


RunningLegacy = RunningServer


def start(spec: LegacySpec, workdir: Path, host: str = LOOPBACK) -> RunningServer:
    spec_file = workdir / f"{spec.name}.legacy.json"
    spec_file.write_text(json.dumps(asdict(spec)))
    process, port = spawn(__file__, spec_file, host)
    return RunningServer(spec.name, host, port, process)


def running(specs: Sequence[LegacySpec], workdir: Path) -> contextlib.AbstractContextManager[dict[str, RunningServer]]:
    return tls_running(specs, workdir, start)


# ---------------------------------------------------------------- server side (runs in the subprocess)


def _settings(spec: LegacySpec) -> object:
    from tlslite.api import HandshakeSettings

    settings = HandshakeSettings()
    settings.minVersion = tuple(spec.min_version)
    settings.maxVersion = tuple(spec.max_version)
    settings.versions = [(3, minor) for minor in range(spec.max_version[1], spec.min_version[1] - 1, -1)]
    settings.cipherNames = list(spec.ciphers)
    settings.macNames = list(spec.macs)
    settings.keyExchangeNames = list(spec.key_exchanges)
    if spec.dh_prime is not None:
        settings.dhParams = (2, spec.dh_prime)
        settings.dhGroups = []  # never an RFC 7919 group: the weak one for everybody
    return settings


def _has_sni(head: bytes) -> bool:
    """Whether the ClientHello at the start of `head` carries a server_name extension (False when it does not
    parse, e.g. an SSL 2.0 hello)."""
    try:
        if head[0] != 22:
            return False
        body = head[5 + 4 :]
        offset = 2 + 32
        offset += 1 + body[offset]  # session id
        offset += 2 + struct.unpack("!H", body[offset : offset + 2])[0]  # cipher suites
        offset += 1 + body[offset]  # compression methods
        end = min(len(body), offset + 2 + struct.unpack("!H", body[offset : offset + 2])[0])
        offset += 2
        while offset + 4 <= end:
            kind, length = struct.unpack("!HH", body[offset : offset + 4])
            if kind == 0:
                return True
            offset += 4 + length
        return False
    except (IndexError, struct.error):
        return False


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def serve(spec_file: Path, host: str) -> None:
    from tlslite.api import X509, TLSConnection, X509CertChain, parsePEMKey

    assert host.startswith("127.")
    raw = json.loads(spec_file.read_text())
    raw["min_version"], raw["max_version"] = tuple(raw["min_version"]), tuple(raw["max_version"])
    spec = LegacySpec(**raw)
    settings = _settings(spec)
    certificates = []
    for block in spec.chain_pem.split("-----END CERTIFICATE-----")[:-1]:
        certificate = X509()
        certificate.parse(block + "-----END CERTIFICATE-----\n")
        certificates.append(certificate)
    chain = X509CertChain(certificates)
    key = parsePEMKey(spec.key_pem, private=True)
    busy = threading.Lock()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            conn.settimeout(10)
            one_at_a_time = spec.busy_after_handshake_s > 0
            if one_at_a_time:
                busy.acquire()
            try:
                if spec.reset_without_sni and not _has_sni(conn.recv(16384, socket.MSG_PEEK)):
                    _reset(conn)
                    return
                tls = TLSConnection(conn)
                if spec.anonymous:
                    tls.handshakeServer(settings=settings, anon=True)
                else:
                    tls.handshakeServer(certChain=chain, privateKey=key, settings=settings)
                if one_at_a_time:
                    threading.Event().wait(spec.busy_after_handshake_s)
                tls.read(max=4096)
                tls.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                tls.close()
            except Exception:  # a scanner's probes break handshakes on purpose
                with contextlib.suppress(OSError):
                    conn.close()
            finally:
                if one_at_a_time:
                    busy.release()

    serve_until_orphaned(host, Handler)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit("usage: legacy_servers.py serve SPEC.json 127.0.0.x")

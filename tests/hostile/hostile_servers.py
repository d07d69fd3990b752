"""Hostile servers on loopback: endpoints a posture scanner does not control, some of them compromised.

All listeners run in one child process (`python hostile_servers.py serve SPEC.json`), so that their threads and
their CPU never mix with the process under test, whose threads and children the tests count. The child prints one
line `READY {"name": port, …}` and exits when its parent dies.

Kinds (`KINDS`):

* `tarpit` - accepts and reads, never writes a byte.
* `drip_tls` - a real TLS server behind a proxy that hands the client one byte per second.
* `drip_ssh` - an SSH greeting, one byte per second.
* `garbage` - deterministic pseudo-random bytes instead of any handshake, on connect and after every read.
* `rst` - accepts, then closes with SO_LINGER 0: the client sees a reset.
* `huge_chain` - TLS with a ~1 MB certificate chain (16 intermediates, each with a 64 KiB private extension).
* `reneg` - `openssl s_server -tls1_2` whose stdin is fed `r` lines: a renegotiation request every 50 ms on
  every connection, for as long as the client stays.
* `headers_10mb` / `headers_10mb_tls` - an HTTP answer with 10 MB of header lines (plain / over TLS).
* `ssh_endless_line` - `SSH-2.0-` and then one line that never ends.
* `ssh_endless_prebanner` - pre-banner lines (RFC 4253 §4.2 allows them) that never stop.
* `shapeshift` - connection n is TLS, plain HTTP, an immediate close, garbage for n = 0, 1, 2, 3 (mod 4).
* `tls_then_tarpit` - the first connection gets a real TLS server (a quick probe passes), every later one a tarpit.
* `normal` / `normal_tls` - not hostile: a web server (`Server: nginx/1.20.0`), plain or over TLS; neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.150"
KINDS = (
    "tarpit", "drip_tls", "drip_ssh", "garbage", "rst", "huge_chain", "reneg", "headers_10mb", "headers_10mb_tls",
    "ssh_endless_line", "ssh_endless_prebanner", "shapeshift", "tls_then_tarpit", "normal", "normal_tls",
)  # fmt: skip
HEADER_BYTES = 10_000_000
CHAIN_INTERMEDIATES = 16
EXTENSION_BYTES = 64 * 1024
DRIP_INTERVAL_S = 1.0
RENEG_EVERY_S = 0.05
SSH_GREETING = b"SSH-2.0-OpenSSH_7.4\r\n"
HTTP_OK = b"HTTP/1.1 200 OK\r\nServer: nginx/1.20.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class Listener:
    name: str
    kind: str
    host: str = HOST  # a 127.0.0.0/8 address


# ------------------------------------------------------------------------------------------------ test side


@dataclass
class Running:
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    host: str = HOST

    def port(self, name: str) -> int:
        return self.ports[name]


@contextlib.contextmanager
def running(listeners: list[Listener], workdir: Path) -> Iterator[Running]:
    """Start the listeners in one child process; stop it (and its `openssl s_server`s) on exit."""
    spec = workdir / "hostile.json"
    assert all(item.host.startswith("127.") for item in listeners), "hostile servers listen on loopback only"
    spec.write_text(json.dumps([[item.name, item.kind, item.host] for item in listeners]))
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"hostile servers did not start: {line!r}")
        yield Running(json.loads(line[len("READY ") :]), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ------------------------------------------------------------------------------------------------ certificates


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    cn: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *, ca: bool, padding: int = 0,
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer[0].subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("hostile.posture.test")]), False)
    if padding:  # a private, non-critical extension: legal, and any size the DER length allows
        oid = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, b"\x04\x83" + _der_len(padding)), False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _der_len(size: int) -> bytes:
    # an OCTET STRING of `size` bytes; "\x04\x83" above announces a three-byte length
    return struct.pack(">I", size)[1:] + b"\xa5" * size


def tls_files(directory: Path, *, huge: bool = False) -> tuple[Path, Path]:
    """A leaf (and, with `huge`, a chain of ~1 MB) signed by a throw-away root; returns (chain, key) paths."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    issuer = (_cert("Hostile Root", root_key, None, ca=True), root_key)
    chain: list[x509.Certificate] = []
    for n in range(CHAIN_INTERMEDIATES if huge else 0):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"Hostile Intermediate {n}", key, issuer, ca=True, padding=EXTENSION_BYTES)
        chain.insert(0, cert)
        issuer = (cert, key)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    chain.insert(0, _cert("hostile.posture.test", leaf_key, issuer, ca=False))
    suffix = "huge" if huge else "plain"
    chain_file, key_file = directory / f"chain-{suffix}.pem", directory / f"key-{suffix}.pem"
    chain_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return chain_file, key_file


def server_context(chain: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(chain, key)
    return context


# ------------------------------------------------------------------------------------------------ behaviours


def garbage_bytes(size: int, seed: int = 7) -> bytes:
    # deterministic, and never a TLS record type (0x14-0x18) first: the client sees garbage, not a short record
    data = bytearray(random.Random(seed).randbytes(size))  # test data, not a secret
    data[0] = 0x9C
    return bytes(data)


async def _drain_reads(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _drain_reads(reader)


async def drip(writer: asyncio.StreamWriter, data: bytes) -> None:
    for index in range(len(data)):
        writer.write(data[index : index + 1])
        await writer.drain()
        await asyncio.sleep(DRIP_INTERVAL_S)


async def drip_ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await drip(writer, SSH_GREETING)
    await _drain_reads(reader)


def drip_tls(backend_port: int) -> Handler:
    """Proxy to a real TLS server: the client's bytes go through at once, the server's one byte per second."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, backend_port)

        async def upstream() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                await drip(writer, data)

        try:
            await asyncio.gather(upstream(), downstream())
        finally:
            up_writer.close()

    return serve


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    block = garbage_bytes(4096)
    writer.write(block)
    await writer.drain()
    while await reader.read(65536):
        writer.write(block)
        await writer.drain()


async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _request_head(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(asyncio.LimitOverrunError, asyncio.IncompleteReadError, ValueError):
        await reader.readuntil(b"\r\n\r\n")


async def http_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request_head(reader)
    writer.write(HTTP_OK)
    await writer.drain()


async def web_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Like a real web server: whatever arrives (a request, a TLS ClientHello) gets an HTTP answer at once."""
    await reader.read(4096)
    writer.write(HTTP_OK)
    await writer.drain()


_HEADER_BLOCK = b"".join(b"X-Pad-%05d: " % n + b"a" * 85 + b"\r\n" for n in range(10_000))  # 1 MB, 100 B a line


async def headers_10mb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """`Server:` first, then 10 MB of 100-byte header lines (repeated names are legal HTTP), then an empty body."""
    await _request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nServer: nginx/1.20.0\r\n")
    for _ in range(HEADER_BYTES // len(_HEADER_BLOCK)):
        writer.write(_HEADER_BLOCK)
        await writer.drain()
    writer.write(b"Content-Length: 0\r\n\r\n")
    await writer.drain()


async def ssh_endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-")
    while True:
        writer.write(b"A" * 65536)
        await writer.drain()


async def ssh_endless_prebanner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = 0
    while True:
        writer.write(b"".join(b"pre-banner line %d\r\n" % (line + n) for n in range(1000)))
        line += 1000
        await writer.drain()


def shapeshift(context: ssl.SSLContext) -> Handler:
    count = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        mode, count = count % 4, count + 1
        if mode == 0:
            await writer.start_tls(context)
            await http_ok(reader, writer)
        elif mode == 1:
            await http_ok(reader, writer)
        elif mode == 2:
            return
        else:
            await garbage(reader, writer)

    return serve


def tls_then_tarpit(context: ssl.SSLContext) -> Handler:
    served = False

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        if served:
            await tarpit(reader, writer)
            return
        served = True
        await writer.start_tls(context)
        await http_ok(reader, writer)

    return serve


def tls_http(context: ssl.SSLContext, inner: Handler) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await writer.start_tls(context)
        await inner(reader, writer)

    return serve


# ------------------------------------------------------------------------------------------------ renegotiation


def free_port() -> int:
    with socket.create_server((HOST, 0)) as probe:
        return int(probe.getsockname()[1])


async def reneg_server(chain: Path, key: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """`openssl s_server` (TLS 1.2, serves one connection at a time) asked to renegotiate every 50 ms."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl binary not found")
    port = free_port()
    process = subprocess.Popen(
        [openssl, "s_server", "-accept", f"{HOST}:{port}", "-cert", str(chain), "-key", str(key), "-tls1_2",
         "-ign_eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    connected = threading.Event()
    listening = threading.Event()

    def watch() -> None:  # "r" before the handshake completes would fail the handshake: follow s_server's log
        for line in stdout:
            if line.startswith(b"ACCEPT"):
                connected.clear()
                listening.set()
            elif line.startswith(b"CIPHER is"):
                connected.set()
            elif line.startswith((b"DONE", b"CONNECTION CLOSED", b"shutting down SSL")):
                connected.clear()

    def feed() -> None:  # s_server reads one command per read(): "r" asks the client to renegotiate
        with contextlib.suppress(OSError, ValueError):
            while process.poll() is None:
                if connected.wait(0.5):
                    os.write(stdin.fileno(), b"r\n")
                    threading.Event().wait(RENEG_EVERY_S)

    threading.Thread(target=watch, daemon=True).start()
    for _ in range(100):
        if listening.is_set():
            break
        await asyncio.sleep(0.05)
    threading.Thread(target=feed, daemon=True).start()
    return port, process


# ------------------------------------------------------------------------------------------------ child process


async def _serve(listeners: list[Listener]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hostile-"))
    plain = server_context(*tls_files(workdir))
    guarded: list[asyncio.Task[None]] = []

    def guard(handler: Handler) -> Handler:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            guarded.append(task)
            try:
                await handler(reader, writer)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:  # close gracefully (a TLS transport still holds buffered records), then let go
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                    async with asyncio.timeout(5):
                        await writer.wait_closed()
                writer.transport.abort()

        return serve

    async def listen(handler: Handler, ssl_context: ssl.SSLContext | None = None, host: str = HOST) -> int:
        server = await asyncio.start_server(guard(handler), host, 0, ssl=ssl_context, backlog=128)
        return int(server.sockets[0].getsockname()[1])

    ports: dict[str, int] = {}
    children: list[subprocess.Popen[bytes]] = []
    for item in listeners:
        kind = item.kind
        if kind == "drip_tls":
            backend = await listen(http_ok, plain)
            ports[item.name] = await listen(drip_tls(backend))
        elif kind == "huge_chain":
            ports[item.name] = await listen(tls_http(server_context(*tls_files(workdir, huge=True)), http_ok))
        elif kind == "headers_10mb_tls":
            tls12 = server_context(workdir / "chain-plain.pem", workdir / "key-plain.pem")
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            ports[item.name] = await listen(tls_http(tls12, headers_10mb))
        elif kind == "shapeshift":
            ports[item.name] = await listen(shapeshift(plain))
        elif kind == "tls_then_tarpit":
            ports[item.name] = await listen(tls_then_tarpit(plain))
        elif kind == "normal_tls":
            ports[item.name] = await listen(tls_http(plain, http_ok), host=item.host)
        elif kind == "reneg":
            port, process = await reneg_server(workdir / "chain-plain.pem", workdir / "key-plain.pem")
            ports[item.name] = port
            children.append(process)
        else:
            simple: dict[str, Handler] = {
                "tarpit": tarpit, "drip_ssh": drip_ssh, "garbage": garbage, "rst": rst, "headers_10mb": headers_10mb,
                "ssh_endless_line": ssh_endless_line, "ssh_endless_prebanner": ssh_endless_prebanner,
                "normal": web_server,
            }  # fmt: skip
            ports[item.name] = await listen(simple[kind], host=item.host)
    print("READY " + json.dumps(ports), flush=True)
    parent = os.getppid()
    try:
        while os.getppid() == parent:  # leave no listener behind when the test process dies
            await asyncio.sleep(0.5)
    finally:
        for process in children:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def serve(spec_file: Path) -> None:
    listeners = [Listener(name, kind, host) for name, kind, host in json.loads(spec_file.read_text())]
    assert all(item.host.startswith("127.") for item in listeners)
    unknown = [item.kind for item in listeners if item.kind not in KINDS]
    if unknown:
        raise SystemExit(f"unknown hostile kinds: {', '.join(unknown)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(listeners))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        import signal

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve(Path(sys.argv[2]))
    else:
        raise SystemExit("usage: hostile_servers.py serve SPEC.json")

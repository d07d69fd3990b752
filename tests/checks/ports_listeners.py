"""Fake network services for the ports tests: real TCP listeners on loopback addresses 127.0.0.2 … 127.0.0.60.

Each fake speaks just enough of its protocol for nmap's version detection to recognise it. Everything binds to a
distinct 127.0.0.x address, so well-known port numbers are free and tests do not disturb each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

REDIS_VERSION = "7.0.11"
SSH_BANNER = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n"
NGINX_VERSION = "1.18.0"
DOCKER_VERSION = "24.0.5"


def _loopback_only(host: str) -> None:
    address = ipaddress.ip_address(host)
    low, high = ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.60")
    if address.version != 4 or not low <= address <= high:
        raise ValueError(f"test listeners bind only to 127.0.0.2 … 127.0.0.60, not {host}")


async def redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers PING with +PONG and INFO with a server section, like an unauthenticated Redis."""
    info = f"# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\nos:Linux\r\n"
    while data := await reader.read(4096):
        text = data.lower()
        if b"info" in text:
            writer.write(f"${len(info)}\r\n{info}\r\n".encode())
        elif b"ping" in text:
            writer.write(b"+PONG\r\n")
        else:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()


async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Sends an OpenSSH banner first, as every SSH server does, then waits for the client to go."""
    writer.write(SSH_BANNER)
    await writer.drain()
    while await reader.read(4096):
        pass


async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.1 answer from an nginx-like server."""
    if await _request_line(reader) is None:
        return
    body = b"<html><body>ok</body></html>"
    writer.write(
        b"HTTP/1.1 200 OK\r\nServer: nginx/" + NGINX_VERSION.encode() + b"\r\nContent-Type: text/html\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()


async def website(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """`http`, plus a security.txt (RFC 9116) that expires in 90 days: a site the web check has everything to read."""
    line = await _request_line(reader)
    if line is None:
        return
    if b" /.well-known/security.txt " not in line:
        body = b"<html><body>ok</body></html>"
        kind = b"text/html"
    else:
        expires = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = f"Contact: mailto:cert@example.test\nExpires: {expires}\n".encode()
        kind = b"text/plain; charset=utf-8"
    writer.write(
        b"HTTP/1.1 200 OK\r\nServer: nginx/" + NGINX_VERSION.encode() + b"\r\nContent-Type: " + kind + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()


async def docker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The Docker Engine API without TLS: /version answers, everything else is a JSON 404."""
    line = await _request_line(reader)
    if line is None:
        return
    parts = line.split()
    target = parts[1] if len(parts) > 1 else b"/"
    proto = parts[2] if len(parts) > 2 else b"HTTP/1.0"
    date = formatdate(usegmt=True).encode()
    if target == b"/version":
        body = json.dumps(
            {"Version": DOCKER_VERSION, "ApiVersion": "1.43", "Os": "linux", "KernelVersion": "6.1.0-13-amd64"},
            separators=(",", ":"),
        ).encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: Docker/" + DOCKER_VERSION.encode()
        head += b" (linux)\r\nDate: " + date + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    else:
        body = b'{"message":"page not found"}\n'
        head = proto + b" 404 Not Found\r\nContent-Type: application/json\r\nDate: " + date
        head += b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    writer.write(head + body)
    await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts and never says a word: version detection waits for it until its probes time out."""
    while await reader.read(4096):
        pass


async def _request_line(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    return head.split(b"\r\n", 1)[0]


class Listeners:
    """Open servers by (host, port); `add` opens one more while the others keep running."""

    def __init__(self) -> None:
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[None]] = set()

    async def add(self, host: str, port: int, handler: Handler) -> None:
        _loopback_only(host)
        self._servers.append(await asyncio.start_server(self._guarded(handler), host, port, reuse_address=True))

    def _guarded(self, handler: Handler) -> Handler:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._connections.add(task)
            try:
                # nmap resets connections mid-probe all the time: that is not a test failure
                with contextlib.suppress(ConnectionError, OSError):
                    await handler(reader, writer)
            finally:
                self._connections.discard(task)
                writer.close()

        return serve

    async def close(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        await asyncio.sleep(0)  # let the closed transports finish their close callbacks


@contextlib.asynccontextmanager
async def listening(services: Iterable[tuple[str, int, Handler]]) -> AsyncIterator[Listeners]:
    listeners = Listeners()
    try:
        for host, port, handler in services:
            await listeners.add(host, port, handler)
        yield listeners
    finally:
        await listeners.close()

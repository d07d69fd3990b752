"""Fake network services with real banners, bound only to 127.0.0.70 … 127.0.0.99 (this test package's range)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

LOW, HIGH = ipaddress.IPv4Address("127.0.0.70"), ipaddress.IPv4Address("127.0.0.99")


def check_address(host: str) -> None:
    address = ipaddress.ip_address(host)
    if not isinstance(address, ipaddress.IPv4Address) or not LOW <= address <= HIGH:
        raise ValueError(f"tests/patches binds only to 127.0.0.70 … 127.0.0.99, not {host}")


def speaks_first(banner: bytes) -> Handler:
    """SSH, FTP, SMTP: the server sends its identification line first, then waits."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        while await reader.read(4096):
            pass

    return serve


def http(server: bytes, powered_by: bytes | None = None) -> Handler:
    """One HTTP/1.1 answer to any request, with the given Server (and X-Powered-By) header."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        body = b"<html><body>It works!</body></html>"
        head = b"HTTP/1.1 200 OK\r\nServer: " + server + b"\r\n"
        if powered_by:
            head += b"X-Powered-By: " + powered_by + b"\r\n"
        head += b"Content-Type: text/html\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        head += b"Connection: close\r\n\r\n"
        writer.write(head if request.startswith(b"HEAD ") else head + body)
        await writer.drain()

    return serve


SSH_OPENSSH_74 = speaks_first(b"SSH-2.0-OpenSSH_7.4\r\n")
SSH_OPENSSH_98 = speaks_first(b"SSH-2.0-OpenSSH_9.8p1\r\n")
SSH_UBUNTU = speaks_first(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n")
FTP_VSFTPD_234 = speaks_first(b"220 (vsFTPd 2.3.4)\r\n")
HTTP_APACHE_2449 = http(b"Apache/2.4.49 (Unix)")


@contextlib.asynccontextmanager
async def listening(services: list[tuple[str, int, Handler]]) -> AsyncIterator[None]:
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[None]] = set()

    def guarded(handler: Handler) -> Handler:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                with contextlib.suppress(ConnectionError, OSError):  # nmap resets connections mid-probe
                    await handler(reader, writer)
            finally:
                tasks.discard(task)
                writer.close()

        return serve

    try:
        for host, port, handler in services:
            check_address(host)
            servers.append(await asyncio.start_server(guarded(handler), host, port, reuse_address=True))
        yield
    finally:
        for server in servers:
            server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        await asyncio.sleep(0)

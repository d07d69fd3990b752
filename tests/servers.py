"""Small loopback servers the tests and benchmarks share."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiosmtpd.controller import Controller

HSTS_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n"


async def answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read whatever arrives (a request, or a TLS probe's ClientHello), answer like a web server, close."""
    try:
        await reader.read(4096)
        writer.write(HSTS_RESPONSE)
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@contextlib.contextmanager
def smtpd(
    address: str, context: ssl.SSLContext | None, port: int = 25, handler: object | None = None, **kwargs: object
) -> Iterator[Controller]:
    """An SMTP server (aiosmtpd, in a thread of its own) on `address`:`port`; STARTTLS with `context`, none
    without; `handler` receives the mail (default: accepted and dropped); `kwargs` go to aiosmtpd's Controller
    (server_hostname, ident, require_starttls, …)."""
    controller = Controller(handler or _Sink(), hostname=address, port=port, tls_context=context, **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(address: str, handler: Handler, port: int = 25) -> AsyncIterator[None]:
    """A hand-written server on `address`:`port`: each connection's handler is cancelled and its stream closed when
    the block ends."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(serve, address, port, reuse_address=True)
    try:
        yield
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

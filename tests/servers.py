"""Small loopback servers the tests and benchmarks share."""

from __future__ import annotations

import asyncio
import ssl

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

"""The API under oversized input: bodies, headers, request lines and page sizes are capped; it keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor import app as app_module
from monitor.api.app import build_scanner_app
from monitor.app import Daemon
from monitor.settings import Settings
from monitor.store.store import Store
from tests.api.conftest import Api
from tests.api.test_web_ui import CSRF


async def raw(api: Api, request: bytes) -> bytes:
    """Send bytes as they are and return the status line (the whole answer up to 64 KiB)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read(65536)
    finally:
        writer.close()
    return answer.split(b"\r\n", 1)[0]


async def still_serving(api: Api) -> bool:
    return (await api.call("GET", "/api/v1/endpoints", api.tokens.analyst))[0] == 200


async def test_a_chunked_body_without_a_length_is_cut_at_the_limit(api: Api) -> None:
    chunk = b"x" * 16384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(64)) + b"0\r\n\r\n"  # 1 MiB
    head = (
        "POST /api/v1/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {api.tokens.agency_a}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert (await raw(api, head.encode() + body)).split()[1] == b"413"
    assert await still_serving(api)


async def test_huge_headers_and_request_lines_are_refused(api: Api) -> None:
    big_header = b"GET /api/v1/endpoints HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    many_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n"
    long_line = b"GET /api/v1/endpoints?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    for request in (big_header, many_headers, long_line):
        status = (await raw(api, request)).split()[1]
        assert status in (b"400", b"413", b"414", b"431"), (request[:40], status)
    assert await still_serving(api)


async def test_a_huge_sign_in_form_is_refused_before_any_lookup(api: Api) -> None:
    async with api.client.get("/ui/login") as page:
        csrf = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    data = {"csrf": csrf, "token": "x" * 1_000_000}
    async with api.client.post("/ui/login", data=data, allow_redirects=False) as response:
        assert response.status == 413 and "posture_session" not in response.cookies


async def test_pages_are_capped(api: Api) -> None:
    for path in ("/api/v1/endpoints?limit=100000", "/api/v1/findings?limit=501"):
        status, reply = await api.call("GET", path, api.tokens.admin)
        assert (status, reply["error"]["field"]) == (400, "limit"), path


async def test_the_daemons_http_server_closes_a_slow_header_client(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app_module.HTTP_IDLE_S <= 60
    monkeypatch.setattr(app_module, "HTTP_IDLE_S", 1.0)
    daemon = Daemon(Settings(http_addr="127.0.0.1:0"))
    runner = await daemon._start_http(build_scanner_app(Store(engine)))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", daemon.http_port)
        started = time.monotonic()
        line = b"GET /healthz HTTP/1.1\r\n"
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(15):
                while not reader.at_eof():  # a header line every 0.3 s, never the blank line that ends them
                    writer.write(line)
                    await writer.drain()
                    line = b"X-Drip: 1\r\n"
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(1), 0.3)
        assert time.monotonic() - started < 10  # closed by the server after about HTTP_IDLE_S
        writer.close()
    finally:
        await runner.cleanup()

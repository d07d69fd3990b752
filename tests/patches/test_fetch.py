"""The URL loader against a local aiohttp server on 127.0.0.80 serving the bundled (shared) feed files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from checks.patches.snapshot import SEED_DIR, load_dir
from monitor.vulndb_fetch import DownloadError, FeedUrls, RateLimit, download
from tests.conftest import free_port
from tests.patches.services import check_address

HOST = "127.0.0.80"
RECORDS = [json.loads(p.read_bytes()) for p in sorted((SEED_DIR / "nvd").glob("*.json"))]
PRODUCTS = tuple(sorted(p.stem for p in (SEED_DIR / "eol").glob("*.json")))
SERVER_PAGE = 7  # smaller than the 2000 asked for: the loader must follow startIndex


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FeedServer:
    def __init__(self) -> None:
        self.nvd_requests: list[dict[str, str]] = []
        self.api_keys: set[str | None] = set()
        self.truncate_kev = False

    async def kev(self, request: web.Request) -> web.Response:
        body = (SEED_DIR / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
        return web.Response(body=body[:5000] if self.truncate_kev else body, content_type="application/json")

    async def nvd(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.nvd_requests.append(query)
        self.api_keys.add(request.headers.get("apiKey"))
        start, end = _utc(query["lastModStartDate"]), _utc(query["lastModEndDate"])
        if end - start > timedelta(days=120):
            return web.Response(status=404, text="range too long")
        chosen = [r for r in RECORDS if start <= _utc(r["lastModified"]) < end]
        index = int(query["startIndex"])
        page = chosen[index : index + min(int(query["resultsPerPage"]), SERVER_PAGE)]
        document = {
            "resultsPerPage": len(page),
            "startIndex": index,
            "totalResults": len(chosen),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-11-27T00:00:00.000",
            "vulnerabilities": [{"cve": r} for r in page],
        }
        return web.json_response(document)

    async def eol(self, request: web.Request) -> web.Response:
        document = json.loads((SEED_DIR / "eol" / f"{request.match_info['product']}.json").read_bytes())
        return web.json_response(document["releases"])  # the endoflife.date API's plain list


@pytest.fixture
async def feed_server() -> AsyncIterator[tuple[FeedServer, str]]:
    check_address(HOST)
    server = FeedServer()
    app = web.Application()
    app.router.add_get("/kev.json", server.kev)
    app.router.add_get("/rest/json/cves/2.0", server.nvd)
    app.router.add_get("/api/{product}.json", server.eol)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port(HOST)
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    try:
        yield server, f"http://{HOST}:{port}"
    finally:
        await runner.cleanup()


def urls(base: str) -> FeedUrls:
    return FeedUrls(f"{base}/kev.json", f"{base}/rest/json/cves/2.0", base + "/api/{product}.json", PRODUCTS)


async def test_download_pages_through_windows_and_parses_like_the_seed(
    feed_server: tuple[FeedServer, str], tmp_path: Path
) -> None:
    server, base = feed_server
    since, now = datetime(2023, 6, 1, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC)
    await download(tmp_path, urls(base), nvd_since=since, now=now, api_key="test-key", rate=RateLimit(1000, 0.01))
    snapshot = await asyncio.to_thread(load_dir, tmp_path)
    seed = await asyncio.to_thread(load_dir, SEED_DIR)
    assert snapshot.kev is not None and seed.kev is not None and snapshot.kev.entries == seed.kev.entries
    assert snapshot.nvd is not None and seed.nvd is not None
    assert sorted(r.info.cve for r in snapshot.nvd) == sorted(r.info.cve for r in seed.nvd)
    assert snapshot.eol is not None and seed.eol is not None
    assert [e.cycles for e in snapshot.eol] == [e.cycles for e in seed.eol]
    assert server.api_keys == {"test-key"}
    windows = {(q["lastModStartDate"], q["lastModEndDate"]) for q in server.nvd_requests}
    assert len(windows) == 11  # 1,275 days in windows of at most 120 days
    assert any(q["startIndex"] != "0" for q in server.nvd_requests)  # a window with more than one page


async def test_rate_limit_spaces_requests() -> None:
    limit = RateLimit(2, 0.2)
    started = asyncio.get_running_loop().time()
    for _ in range(3):
        await limit.wait()
    assert asyncio.get_running_loop().time() - started >= 0.19


async def test_a_truncated_download_fails_the_update_before_anything_is_stored(
    feed_server: tuple[FeedServer, str], tmp_path: Path
) -> None:
    server, base = feed_server
    server.truncate_kev = True
    now = datetime(2026, 11, 27, tzinfo=UTC)
    await download(tmp_path, urls(base), nvd_since=now - timedelta(days=1), now=now, rate=RateLimit(1000, 0.01))
    with pytest.raises(ValueError, match="not valid JSON"):
        load_dir(tmp_path)


async def test_a_connection_cut_mid_body_is_a_download_error(tmp_path: Path) -> None:
    check_address("127.0.0.81")

    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"count": 1')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.81", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(DownloadError, match=r"kev\.json"):
            await download(tmp_path, urls(f"http://127.0.0.81:{port}"), rate=RateLimit(1000, 0.01))
    finally:
        server.close()
        await server.wait_closed()

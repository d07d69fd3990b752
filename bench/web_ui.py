"""Benchmark: the web UI's pages as agency staff and the CERT's admin see them, signed in with a session.

The same seed as bench/api.py (10,000 endpoints across 100 agencies, open findings, each check's last outcome);
the server runs in its own process on 127.0.0.1 over SQLite (or --database-url). Each kind of page is asked for
`--requests` times, `--concurrency` at a time: an agency's endpoint list (its 100 endpoints, page 1 of 2, with the
total), the admin's list of all 10,000 (page 1, and page 100 of 200, which skips 4,950 rows), the admin's list
filtered by status (every endpoint's status computed for the total), and an endpoint's page (its checks' states
and findings). Prints, per kind, `<kind>_p50_ms` and `<kind>_p99_ms`, and `web_server_cpu_ms` (the server's CPU
time per request over all kinds) last.
Usage: python bench/web_ui.py [--endpoints N] [--agencies A] [--requests R] [--concurrency C] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.api import ACTOR, cpu_seconds, seed
from monitor.store.access_store import AccessStore
from monitor.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def serve(url: str, port: int) -> None:
    from aiohttp import web

    from monitor.api.app import build_app
    from monitor.heap import freeze_startup_heap
    from monitor.store.store import Store

    runner = web.AppRunner(build_app(Store(make_engine(url)), web_ui=True), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    freeze_startup_heap()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def admin_token(url: str) -> str:
    engine = make_engine(url)
    token = (await AccessStore(engine).create_token("admin", None, "bench", ACTOR)).token
    await engine.dispose()
    return token


async def signed_in(base: str, token: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get("/ui/login") as page:
        match = CSRF.search(await page.text())
    assert match, "no sign-in form"
    async with session.post("/ui/login", data={"csrf": match.group(1), "token": token}) as response:
        if response.status != 200 or "/ui/endpoints" not in str(response.url):
            raise SystemExit(f"sign-in failed: HTTP {response.status}")
    return session


async def measure(sessions: list[aiohttp.ClientSession], path: str, total: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for n in counter:
            started = time.perf_counter()
            async with sessions[n % len(sessions)].get(path) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def run(base: str, agency_tokens: list[str], admin: str, total: int, concurrency: int) -> dict[str, list[float]]:
    agencies = [await signed_in(base, token) for token in agency_tokens[:20]]
    admins = [await signed_in(base, admin)]
    try:
        return {
            "agency_list": await measure(agencies, "/ui/endpoints", total, concurrency),
            "admin_list": await measure(admins, "/ui/endpoints", total, concurrency),
            "admin_page_100": await measure(admins, "/ui/endpoints?page=100", total, concurrency),
            "admin_unreachable": await measure(admins, "/ui/endpoints?status=unreachable", total, concurrency),
            "endpoint_page": await measure(admins, "/ui/endpoints/50", total, concurrency),
        }
    finally:
        for session in agencies + admins:
            await session.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--database-url")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1])))
        return
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        tokens = asyncio.run(seed(url, args.endpoints, args.agencies))
        admin = asyncio.run(admin_token(url))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise SystemExit("the web server did not start")
            cpu_before = cpu_seconds(server.pid)
            results = asyncio.run(run(f"http://127.0.0.1:{port}", tokens, admin, args.requests, args.concurrency))
            cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(10)
    requests = sum(len(latencies) for latencies in results.values())
    for kind, latencies in results.items():
        print(f"{kind}_p50_ms={statistics.median(latencies) * 1000:.1f}")
        print(f"{kind}_p99_ms={percentile(latencies, 0.99):.1f}")
    print(f"web_server_cpu_ms={cpu * 1000 / requests:.2f}")


if __name__ == "__main__":
    main()

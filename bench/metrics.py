"""Benchmark: /metrics over 10,000 endpoints' latest results (reachability, TLS, ports, patch) in SQLite.

Prints the time to render a fresh snapshot (done in the background every POSTURE_METRICS_REFRESH_S), the
scrape time p50 over 50 real HTTP scrapes on loopback, and the series count per endpoint.
Last lines: `scrape_ms=N` and `series_per_endpoint=M`.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import trustme
from aiohttp import web
from sqlalchemy import insert

from checks import REGISTRY
from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig
from monitor.exporter import MetricsEndpoint
from monitor.models import Target
from monitor.runner import execute
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, FINDING, LATEST

SERVICES = [(22, "ssh"), (443, "https"), (8080, "http-proxy")]


async def real_tls_details() -> dict[str, Any]:
    """One real TLS check of a local server (127.0.0.33), whose details every endpoint then carries."""
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.33").configure_cert(context)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.33", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    result = await execute(TlsCheck(), Target("127.0.0.33", port), TlsConfig(http_headers=False), CheckContext())
    server.close()
    await server.wait_closed()
    assert result.details is not None, result.error
    return dict(result.details.model_dump(mode="json"))


async def seed(engine: Any, count: int, agencies: int) -> None:
    now = datetime.now(UTC)
    tls = await real_tls_details()
    async with engine.begin() as conn:
        await conn.execute(
            insert(AGENCY),
            [{"id": a + 1, "slug": f"agency-{a:03d}", "name": f"A {a}", "created_at": now} for a in range(agencies)],
        )
        for start in range(0, count, 5000):
            ids = range(start + 1, min(start + 5000, count) + 1)
            await conn.execute(insert(ENDPOINT), [
                {"id": i, "agency_id": i % agencies + 1, "host": f"h{i}.bench.invalid", "port": 443,
                 "checks": ["reachability", "tls", "ports", "patch"], "intervals": {}, "labels": {},
                 "expected_ports": [], "check_settings": {}, "created_at": now} for i in ids])  # fmt: skip
            await conn.execute(insert(CHECK_STATE), [
                {"endpoint_id": i, "check": c, "next_due": now, "consecutive_failures": 0, "last_run_at": now}
                for i in ids for c in ("reachability", "tls", "ports", "patch")])  # fmt: skip
            await conn.execute(insert(LATEST), [
                {"endpoint_id": i, "check": "reachability", "status": "ok", "started_at": now, "duration_s": 0.01,
                 "details": {"connect_ms": 1.5, "speaks_tls": True, "tls_version": "TLSv1.3"}, "observations": [],
                 "error": None} for i in ids])  # fmt: skip
            await conn.execute(insert(LATEST), [
                {"endpoint_id": i, "check": "ports", "status": "ok", "started_at": now, "duration_s": 5.0,
                 "details": {"address": f"192.0.2.{i % 250}", "scanned": "22,443,8080", "version_scan": "done",
                             "open_ports": [{"port": p, "service": s, "product": "x", "version": "1"}
                                            for p, s in SERVICES]},
                 "observations": [], "error": None} for i in ids])  # fmt: skip
            await conn.execute(insert(LATEST), [
                {"endpoint_id": i, "check": "tls", "status": "ok", "started_at": now, "duration_s": 0.5,
                 "details": tls, "observations": [], "error": None} for i in ids])  # fmt: skip
            await conn.execute(insert(LATEST), [
                {"endpoint_id": i, "check": "patch", "status": "ok", "started_at": now, "duration_s": 0.01,
                 "details": {"fingerprints": [], "database": "seed"}, "observations": [], "error": None}
                for i in ids])  # fmt: skip
            await conn.execute(insert(FINDING), [
                {"endpoint_id": i, "check": "patch", "key": "patch.cve.CVE-2021-41773", "severity": 4,
                 "title": "CVE", "detail": {"kev": True}, "remediation": "", "state": "open", "kev": True,
                 "first_seen": now, "last_seen": now, "overdue_notified": False, "transitions": [],
                 "flapping": False} for i in ids])  # fmt: skip
            await conn.execute(insert(FINDING), [
                {"endpoint_id": i, "check": "ports", "key": "ports.exposed.ssh", "severity": 1, "title": "SSH",
                 "detail": {}, "remediation": "", "state": "open", "kev": False, "first_seen": now, "last_seen": now,
                 "overdue_notified": False, "transitions": [], "flapping": False} for i in ids])  # fmt: skip


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{workdir}/metrics.db")
        await upgrade(engine)
        await seed(engine, count, agencies=100)
        endpoint = MetricsEndpoint(Store(engine), {name: cls() for name, cls in REGISTRY.items()})
        renders = []
        for _ in range(3):
            await endpoint.refresh()
            renders.append(endpoint.render_seconds)
        app = web.Application()
        app.router.add_get("/metrics", endpoint.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
        scrapes = []
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                started = time.perf_counter()
                async with session.get(url) as response:
                    body = await response.read()
                scrapes.append(time.perf_counter() - started)
        await runner.cleanup()
        await engine.dispose()
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    print(f"endpoints={count} bytes={len(body)} series={series}")
    print(f"render_ms={statistics.median(renders) * 1000:.0f}")
    print(f"scrape_ms={statistics.median(scrapes) * 1000:.1f}")
    print(f"series_per_endpoint={series / count:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().endpoints))

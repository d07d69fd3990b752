"""Benchmark: authenticated `GET /api/v1/endpoints` pages under load.

10,000 endpoints across 100 agencies (each with a few open findings, and its checks' last outcomes: most ok, one in
fifty unreachable three runs in a row, one in fifty timed out once); the API runs in its own process on
127.0.0.1 over SQLite (or --database-url); 5,000 requests, each with one of the agencies' bearer tokens, 50 at a
time. Prints `api_p99_ms=N` and `api_rps=M` on its last lines (target: p99 ≤ 150 ms), before them
`api_server_cpu_ms`: the server's CPU time per request (user + system, all its threads), which depends far less on
what else the machine is doing than the latencies do. `--workers N` runs N server processes on one port
(SO_REUSEPORT), to measure whether more than one is worth it; `--checks N` gives each endpoint N checks (1-4);
`--status S` asks for the endpoints of that status only (`?status=S`).
Usage: python bench/api.py [--endpoints N] [--agencies A] [--requests R] [--concurrency C] [--database-url URL]
                           [--workers N] [--checks N] [--status S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy import insert

from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, FINDING, LATEST, SCOPE

ROOT = Path(__file__).resolve().parent.parent
ACTOR = Actor("bench", "bench")
CHECKS = ("reachability", "tls", "ports", "patches")


def outcome(nth: int) -> tuple[str, int, str | None]:
    """(last status, consecutive failures, error) of each check of its agency's `nth` endpoint."""
    if nth % 50 == 0:
        return "unreachable", 3, "TCP connect failed: [Errno 111] Connection refused"
    if nth % 50 == 1:
        return "timed_out", 1, "no result within 10 s"
    return "ok", 0, None


async def seed(url: str, endpoints: int, agencies: int, checks: int = 1) -> list[str]:
    """Agencies, scopes, endpoints with check states and findings; returns one agency token per agency."""
    engine = make_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    per_agency = endpoints // agencies
    async with engine.begin() as conn:
        await conn.execute(
            insert(AGENCY),
            [
                {"id": a + 1, "slug": f"agency-{a:03d}", "name": f"Agency {a}", "created_at": now}
                for a in range(agencies)
            ],
        )
        await conn.execute(
            insert(SCOPE),
            [{"agency_id": a + 1, "kind": "domain", "value": f"a{a}.bench.example", "created_at": now}
             for a in range(agencies)],
        )  # fmt: skip
        rows = [
            {
                "id": e + 1,
                "agency_id": e % agencies + 1,
                "host": f"host{e}.a{e % agencies}.bench.example",
                "port": 443,
                "checks": list(CHECKS[:checks]),
                "intervals": {},
                "labels": {},
                "expected_ports": [],
                "created_at": now,
            }
            for e in range(per_agency * agencies)
        ]
        await conn.execute(insert(ENDPOINT), rows)
        states, latest = [], []
        for r in rows:
            status, failures, error = outcome((r["id"] - 1) // agencies)
            for check in r["checks"]:
                states.append(
                    {"endpoint_id": r["id"], "check": check, "next_due": now, "consecutive_failures": failures,
                     "last_status": status, "last_run_at": now}
                )  # fmt: skip
                latest.append(
                    {"endpoint_id": r["id"], "check": check, "status": status, "started_at": now, "duration_s": 0.1,
                     "details": {}, "observations": [], "error": error}
                )  # fmt: skip
        await conn.execute(insert(CHECK_STATE), states)
        await conn.execute(insert(LATEST), latest)
        await conn.execute(
            insert(FINDING),
            [
                {
                    "endpoint_id": r["id"], "check": "reachability", "key": "bench.finding", "severity": r["id"] % 5,
                    "title": "bench", "detail": {}, "remediation": "", "state": "open", "kev": False,
                    "first_seen": now, "last_seen": now, "transitions": [], "overdue_notified": False,
                    "flapping": False,
                }
                for r in rows
                if r["id"] % 3 == 0
            ],
        )  # fmt: skip
    access = AccessStore(engine)
    tokens = [(await access.create_token("agency", f"agency-{a:03d}", None, ACTOR)).token for a in range(agencies)]
    await engine.dispose()
    return tokens


async def serve(url: str, port: int, reuse_port: bool) -> None:
    from aiohttp import web

    from monitor.api.app import build_app
    from monitor.heap import freeze_startup_heap

    engine = make_engine(url)
    runner = web.AppRunner(build_app(Store(engine), web_ui=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_port=reuse_port or None).start()
    freeze_startup_heap()  # as the daemon does once it serves
    print("ready", flush=True)
    await asyncio.Event().wait()


async def load(
    base: str, tokens: list[str], total: int, concurrency: int, status: str | None
) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def worker() -> None:
            for n in counter:
                headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                started = time.perf_counter()
                params = {"limit": "50"} | ({"status": status} if status else {})
                async with session.get("/api/v1/endpoints", params=params, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--checks", type=int, default=1, choices=range(1, len(CHECKS) + 1))
    parser.add_argument("--status")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1]), args.workers > 1))
        return
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        tokens = asyncio.run(seed(url, args.endpoints, args.agencies, args.checks))
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, __file__, "--serve", url, str(port), "--workers", str(args.workers)]
        servers = [
            subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, text=True)
            for _ in range(args.workers)
        ]
        try:
            for server in servers:  # each prints one line once it listens (or nothing when it failed)
                assert server.stdout is not None
                if server.stdout.readline().strip() != "ready":
                    raise SystemExit("the API server did not start")
            cpu_before = sum(cpu_seconds(server.pid) for server in servers)
            client_before = cpu_seconds(os.getpid())
            base = f"http://127.0.0.1:{port}"
            latencies, elapsed = asyncio.run(load(base, tokens, args.requests, args.concurrency, args.status))
            server_cpu = sum(cpu_seconds(server.pid) for server in servers) - cpu_before
            client_cpu = cpu_seconds(os.getpid()) - client_before
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"endpoints={args.endpoints}")
    print(f"agencies={args.agencies}")
    print(f"requests={len(latencies)}")
    print(f"concurrency={args.concurrency}")
    print(f"workers={args.workers}")
    print(f"checks={args.checks}")
    print(f"status={args.status or 'any'}")
    print(f"api_client_cpu_ms={client_cpu * 1000 / len(latencies):.2f}")
    print(f"api_server_cpu_ms={server_cpu * 1000 / len(latencies):.2f}")
    print(f"api_p50_ms={p50:.1f}")
    print(f"api_p99_ms={p99:.1f}")
    print(f"api_rps={len(latencies) / elapsed:.0f}")


if __name__ == "__main__":
    main()

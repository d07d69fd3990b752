"""Benchmark: the ports check over 50 loopback hosts vs one bare `nmap -sT -sV` over the same hosts and ports.

Fifty hosts 127.0.0.10 … 127.0.0.59 each get three listeners (an SSH banner on 22, Redis on 6379, an nginx-like
HTTP server on 8080), served by a separate process so that the fakes do not share the monitor's event loop. Each
round runs both sides, one after the other, and checks that both found the same open ports; for comparison it also
times `checks.ports.scan_batch` over chunks of `--batch-size` endpoints (not part of the ratio). Last line:
`ratio_vs_nmap=R` (median monitor time / median bare nmap time).

    .venv/bin/python bench/ports_scan.py [--rounds 3] [--concurrency 50] [--batch-size 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update

from checks.base import Check, CheckContext
from checks.ports import PortsCheck, PortsConfig, PortsDetails, scan_batch
from checks.ports.scanner import parse_nmap_xml, run_nmap
from monitor.cadence import Cadence
from monitor.models import CheckResult, CheckStatus, Target
from monitor.scheduler import Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.tables import CHECK_STATE
from monitor.store.work import WorkQueue

HOSTS = [f"127.0.0.{n}" for n in range(10, 60)]
PORTS = (22, 6379, 8080)
PORT_SPEC = ",".join(map(str, PORTS))


# ---- the fake services (a separate process) ----------------------------------------------------------------------


async def _ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n")
    await writer.drain()
    while await reader.read(4096):
        pass


async def _redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    info = "# Server\r\nredis_version:7.0.11\r\n"
    while data := await reader.read(4096):
        if b"info" in data.lower():
            writer.write(f"${len(info)}\r\n{info}\r\n".encode())
        elif b"ping" in data.lower():
            writer.write(b"+PONG\r\n")
        else:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    await writer.drain()


def _guard(handler: Any) -> Any:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await handler(reader, writer)
        writer.close()

    return serve


async def _serve(ready: Any, stop: Any) -> None:
    handlers = {22: _ssh, 6379: _redis, 8080: _http}
    servers = [
        await asyncio.start_server(_guard(handlers[port]), host, port, reuse_address=True, backlog=256)
        for host in HOSTS
        for port in PORTS
    ]
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for server in servers:
        server.close()


def _listener_process(ready: Any, stop: Any) -> None:
    asyncio.run(_serve(ready, stop))


# ---- the two contenders -------------------------------------------------------------------------------------------


async def run_monitor(targets: list[Target], concurrency: int = 50) -> list[CheckResult[Any]]:
    """The monitor's way: the targets registered as endpoints in a fresh SQLite store, all due now, and the real
    scheduler running the ports check on them (global cap `concurrency`, one per host), results recorded in the
    store. Returns each target's recorded result, read back from the store."""
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{workdir}/ports.db")
        await upgrade(engine)
        cadence = Cadence(86_400)
        registry, actor = Registry(engine), Actor("bench")
        await registry.add_agency("bench", "Bench", actor)
        await registry.add_scope("bench", "127.0.0.0/8", actor)
        ids = {}
        for target in targets:
            record = await registry.add_endpoint(
                "bench",
                target.host,
                target.port,
                ["ports"],
                cadence,
                actor,
                check_settings={"ports": {"ports": PORT_SPEC}},
            )
            ids[record.id] = target
        async with engine.begin() as conn:
            await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
        queue = WorkQueue(engine, "bench", cadence, lease_s=600)
        checks: dict[str, Check[Any, Any]] = {"ports": PortsCheck()}
        scheduler = Scheduler(queue, checks, {"ports": PortsConfig()}, Limits(concurrency=concurrency))
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        while scheduler.recorded < len(targets):
            await asyncio.sleep(0.05)
        stop.set()
        await task
        details = await queue.latest_details([(endpoint_id, "ports") for endpoint_id in ids])
        await engine.dispose()
    by_host = {ids[endpoint_id].host: PortsDetails.model_validate(raw) for (endpoint_id, _), raw in details.items()}
    return [
        CheckResult("ports", None, CheckStatus.OK if t.host in by_host else CheckStatus.CRASHED, datetime.now(UTC), 0.0,
                    by_host.get(t.host))
        for t in targets
    ]  # fmt: skip


async def run_batched(targets: list[Target], batch_size: int) -> dict[str, set[int]]:
    """For comparison only: `scan_batch` over chunks of `batch_size` targets, the chunks in parallel."""
    cfg, ctx = PortsConfig(ports=PORT_SPEC), CheckContext()
    chunks = [targets[i : i + batch_size] for i in range(0, len(targets), batch_size)]
    outcomes = await asyncio.gather(*(scan_batch(chunk, cfg, ctx) for chunk in chunks))
    return {
        t.host: {p.port for p in d.open_ports if p.product}
        for outcome in outcomes
        for t, d in outcome.items()
        if isinstance(d, PortsDetails)
    }


async def run_bare_nmap() -> dict[str, set[int]]:
    """One plain `nmap -sT -sV` over the same hosts and ports (XML to stdout, so that results can be compared)."""
    xml_text = await run_nmap(["-sT", "-sV", "-p", PORT_SPEC, "-oX", "-", "--", *HOSTS])
    report = parse_nmap_xml(xml_text)
    return {host: {p.port for p in scan.open_ports} for host, scan in report.hosts.items()}


async def main(rounds: int, concurrency: int, batch_size: int) -> float:
    targets = [Target(host, 22) for host in HOSTS]
    expected = {host: set(PORTS) for host in HOSTS}
    bare_times: list[float] = []
    monitor_times: list[float] = []
    batched_times: list[float] = []
    for round_no in range(1, rounds + 1):
        started = time.perf_counter()
        bare = await run_bare_nmap()
        bare_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        results = await run_monitor(targets, concurrency)
        monitor_times.append(time.perf_counter() - started)

        batched = ""
        if batch_size:
            started = time.perf_counter()
            if await run_batched(targets, batch_size) != expected:
                raise SystemExit(f"round {round_no}: batched scan found different or unfingerprinted ports")
            batched_times.append(time.perf_counter() - started)
            batched = f" batched_s={batched_times[-1]:.2f}"

        statuses = {str(r.status) for r in results}
        found = {t.host: {p.port for p in r.details.open_ports} for t, r in zip(targets, results, strict=True)
                 if r.status is CheckStatus.OK}  # fmt: skip
        fingerprinted = sum(1 for r in results if r.details for p in r.details.open_ports if p.product)
        if bare != expected or found != expected:
            raise SystemExit(f"round {round_no}: open ports differ (statuses {statuses})")
        print(
            f"round={round_no} bare_nmap_s={bare_times[-1]:.2f} monitor_s={monitor_times[-1]:.2f}{batched} "
            f"statuses={','.join(sorted(statuses))} fingerprinted_ports={fingerprinted}/{len(HOSTS) * len(PORTS)}"
        )
    bare_s, monitor_s = statistics.median(bare_times), statistics.median(monitor_times)
    print(f"hosts={len(HOSTS)} ports_per_host={len(PORTS)} rounds={rounds} concurrency={concurrency}")
    print(f"bare_nmap_s={bare_s:.2f}")
    print(f"monitor_s={monitor_s:.2f}")
    if batched_times:
        print(f"batched_s={statistics.median(batched_times):.2f} batch_size={batch_size}")
    return monitor_s / bare_s


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50, help="checks in flight at once (the scheduler's cap)")
    parser.add_argument("--batch-size", type=int, default=10, help="also time scan_batch in chunks (0: skip)")
    args = parser.parse_args()
    if shutil.which("nmap") is None:
        raise SystemExit("nmap binary not found: install nmap (Debian: apt-get install nmap)")
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=_listener_process, args=(ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("listeners did not start")
        ratio = asyncio.run(main(args.rounds, args.concurrency, args.batch_size))
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.kill()
    print(f"ratio_vs_nmap={ratio:.2f}")

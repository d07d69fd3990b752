"""Soak: the real daemon for a long run against 500 loopback endpoints, a broker that keeps restarting, API reads.

`posture run --role all` runs as a subprocess on SQLite. 500 endpoints on distinct loopback addresses
(127.40-44.x.y, five agencies, each scoped to its /16): most answer like a web server, some flap (down and up
again every few intervals), some are broken (closed port, a tarpit whose accept queue is full, a server that
resets every connection), a few speak TLS (the TLS check, a full scan every 5 minutes, quick probes between).
Reachability runs every --interval seconds, TLS every two. A real Mosquitto is stopped for a few seconds every
60 s; a subscriber with a persistent session keeps every alert; agency tokens GET endpoint and finding pages
in the background and /metrics is scraped every 15 s.

Figures (last lines, `name=value`): daemon RSS and open fds after warm-up (20% of the duration) against the end
(RSS: median of the samples in a window; fds: the floor of the window, since sockets of running checks come
and go), alerts written to the outbox but never received after a final drain (by event id), and the share of
checks that started more than one interval after their due time (due times polled from check_state every 5 s,
runs from scan_run; a check that never ran although due counts as late).
Usage: python bench/soak.py [--duration S] [--endpoints N] [--interval S] [--api-rate R] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import random
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import trustme
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cadence import Cadence
from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.tables import CHECK_STATE, OUTBOX, SCAN_RUN
from tests.conftest import POSTURE, free_port, posture_env
from tests.mqtt_broker import Broker, Subscriber, start_broker
from tests.servers import answer_http

AGENCIES = 5
ACTOR = Actor("soak", "bench")
SAMPLE_EVERY_S = 5.0
# endpoints per 500, the rest answer like a healthy web server
MIX = {"flapping": 40, "tls": 20, "closed": 15, "tarpit": 10, "reset": 10}


@dataclass
class Endpoint:
    agency: str
    host: str
    kind: str
    port: int = 0

    @property
    def checks(self) -> list[str]:
        return ["reachability", "tls"] if self.kind in ("tls", "reset") else ["reachability"]


@dataclass
class Fleet:
    """The loopback servers behind the endpoints; flapping ones go down and come back on the same port."""

    ca: trustme.CA
    servers: dict[int, asyncio.Server] = field(default_factory=dict)
    sockets: list[socket.socket] = field(default_factory=list)

    async def open(self, endpoint: Endpoint) -> None:
        host = endpoint.host
        if endpoint.kind in ("healthy", "flapping"):
            self.servers[id(endpoint)] = server = await asyncio.start_server(answer_http, host, 0)
        elif endpoint.kind == "tls":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ca.issue_cert(host).configure_cert(context)
            self.servers[id(endpoint)] = server = await asyncio.start_server(answer_http, host, 0, ssl=context)
        elif endpoint.kind == "reset":
            self.servers[id(endpoint)] = server = await asyncio.start_server(reset_connection, host, 0)
        elif endpoint.kind == "closed":
            endpoint.port = free_port(host)
            return
        else:  # tarpit: a listener that never accepts, its one-place queue filled by us, so a SYN gets no answer
            listener = socket.create_server((host, 0), backlog=0)
            endpoint.port = listener.getsockname()[1]
            self.sockets += [listener, socket.create_connection((host, endpoint.port))]
            return
        endpoint.port = server.sockets[0].getsockname()[1]

    async def flap(self, endpoint: Endpoint, down_s: float, up_s: float, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        while True:
            server = self.servers.pop(id(endpoint))
            server.close()
            await server.wait_closed()
            await asyncio.sleep(down_s)
            self.servers[id(endpoint)] = await asyncio.start_server(answer_http, endpoint.host, endpoint.port)
            await asyncio.sleep(up_s)

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        for sock in self.sockets:
            sock.close()


async def reset_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # closed with SO_LINGER 0: the peer gets a RST


def plan(count: int) -> list[Endpoint]:
    kinds = [kind for kind, per_500 in MIX.items() for _ in range(per_500 * count // 500)]
    kinds += ["healthy"] * (count - len(kinds))
    random.Random(7).shuffle(kinds)
    return [Endpoint(f"soak-{i % AGENCIES}", address(i), kind) for i, kind in enumerate(kinds)]


def address(i: int) -> str:
    """Endpoint i of agency i % 5 on its own loopback address inside that agency's 127.(40 + i % 5).0.0/16."""
    n = i // AGENCIES
    return f"127.{40 + i % AGENCIES}.{n // 250}.{n % 250 + 2}"


async def seed(url: str, endpoints: list[Endpoint], interval_s: float, ca_file: Path) -> tuple[list[str], str]:
    """Agencies, scopes and endpoints through the registry (scope-checked, first runs spread); agency tokens."""
    engine = make_engine(url)
    await upgrade(engine)
    registry, cadence = Registry(engine), Cadence(interval_s)
    for k in range(AGENCIES):
        await registry.add_agency(f"soak-{k}", f"Soak agency {k}", ACTOR)
        await registry.add_scope(f"soak-{k}", f"127.{40 + k}.0.0/16", ACTOR)
    for e in endpoints:
        intervals = {check: interval_of(check, interval_s) for check in e.checks}
        settings = {"tls": {"ca_file": str(ca_file)}} if e.kind == "tls" else {}
        await registry.add_endpoint(e.agency, e.host, e.port, e.checks, cadence, ACTOR, intervals, {}, (), settings)
    access = AccessStore(engine)
    tokens = [(await access.create_token("agency", f"soak-{k}", "soak", ACTOR)).token for k in range(AGENCIES)]
    scraper = (await access.create_token("metrics", None, "soak prometheus", ACTOR)).token
    await engine.dispose()
    return tokens, scraper


def start_daemon(
    url: str, workdir: Path, broker: Broker, http_port: int, tls_full_every_s: float
) -> subprocess.Popen[bytes]:
    checks = {
        "reachability": {"connect_timeout_s": 3, "timeout_s": 10},
        "tls": {"network_timeout_s": 3, "timeout_s": 60, "full_scan_every_s": tls_full_every_s},
    }
    env = posture_env(
        url,
        POSTURE_MQTT_URL=broker.url,
        POSTURE_INSTANCE_ID="soak",
        POSTURE_UNREACHABLE_AFTER="1",
        POSTURE_CHECKS=json.dumps(checks),
    )
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
    with (workdir / "daemon.log").open("wb") as log:
        return subprocess.Popen([*POSTURE, "run", "--role", "all"], env=env, cwd=workdir, stdout=log, stderr=log)


@dataclass(frozen=True, slots=True)
class Point:
    t: float  # seconds since the daemon answered
    rss_mb: float
    fds: int
    cpu_s: float  # the daemon's user + system CPU time so far
    load: float  # the machine's 1-minute load average


@dataclass
class Samples:
    """What the bench saw while the daemon ran, every 5 s, and every due time of every check."""

    points: list[Point] = field(default_factory=list)
    dues: dict[tuple[int, str], set[datetime]] = field(default_factory=lambda: defaultdict(set))

    def window(self, start: float, end: float) -> list[Point]:
        return [p for p in self.points if start <= p.t <= end] or [min(self.points, key=lambda p: abs(p.t - end))]


def measure(pid: int, t: float) -> Point:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]  # utime, stime
    cpu_s = sum(int(tick) for tick in ticks) / os.sysconf("SC_CLK_TCK")
    return Point(t, rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd")), cpu_s, os.getloadavg()[0])


async def sample(daemon: subprocess.Popen[bytes], engine: AsyncEngine, samples: Samples, t0: float) -> None:
    due = select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check, CHECK_STATE.c.next_due)
    while True:
        if daemon.poll() is not None:
            raise RuntimeError(f"the daemon exited with {daemon.returncode}; see daemon.log")
        samples.points.append(measure(daemon.pid, time.monotonic() - t0))
        async with engine.connect() as conn:
            for row in await conn.execute(due):
                samples.dues[(row.endpoint_id, row.check)].add(row.next_due)
        await asyncio.sleep(SAMPLE_EVERY_S)


async def restart_broker(broker: Broker, every_s: float, down_s: float, stop: asyncio.Event, count: list[int]) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
            return
        await asyncio.to_thread(broker.stop)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(broker.start)
        count[0] += 1


@dataclass
class ApiLoad:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    async def get(self, session: aiohttp.ClientSession, path: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        self.requests += 1
        try:
            async with session.get(path, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    self.errors += 1
        except (aiohttp.ClientError, TimeoutError):
            self.errors += 1
        self.latencies.append(time.perf_counter() - started)

    async def run(self, base: str, tokens: list[str], scraper: str, rate: float, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(base, timeout=timeout) as session:
            n, next_scrape = 0, 0.0
            while not stop.is_set():
                tick = time.monotonic()
                path = "/api/v1/endpoints?limit=50" if n % 2 else "/api/v1/findings?limit=50"
                await self.get(session, path, tokens[n % len(tokens)])
                if tick >= next_scrape:  # as Prometheus would
                    await self.get(session, "/metrics", scraper)
                    next_scrape = tick + 15
                n += 1
                await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - tick)))


async def wait_healthy(base: str, daemon: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession(base) as session:
        for _ in range(600):
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited with {daemon.returncode} at start; see daemon.log")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get("/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("the daemon did not answer /healthz within 60 s")


def received_ids(subscriber: Subscriber) -> set[str]:
    return {str(payload["id"]) for payload in subscriber.payloads()}


async def outbox_rows(engine: AsyncEngine) -> dict[str, datetime | None]:
    async with engine.connect() as conn:
        return {row.event_id: row.sent_at for row in await conn.execute(select(OUTBOX.c.event_id, OUTBOX.c.sent_at))}


async def drain(engine: AsyncEngine, subscriber: Subscriber, timeout_s: float) -> dict[str, datetime | None]:
    """The outbox as it is now, once all of it was sent and received, or the timeout passed."""
    written = set(await outbox_rows(engine))
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await outbox_rows(engine)
        done = all(rows[event] is not None for event in written) and written <= received_ids(subscriber)
        if done or time.monotonic() > deadline:
            return {event: rows[event] for event in written}
        await asyncio.sleep(1)


@dataclass(frozen=True, slots=True)
class Run:
    started: datetime
    delay_s: float  # after its due time
    late: bool  # more than one interval


def interval_of(check: str, interval_s: float) -> float:
    return interval_s * (2 if check == "tls" else 1)


async def lateness(
    engine: AsyncEngine, samples: Samples, interval_s: float, since: datetime, until: datetime
) -> tuple[list[Run], int, Counter[str]]:
    """Runs whose due time fell while the daemon was up, against that due time (the last one before the run
    started: the next is set one interval after the start); checks due more than one interval before the end that
    never ran; scan runs by status."""
    query = select(SCAN_RUN.c.endpoint_id, SCAN_RUN.c.check, SCAN_RUN.c.started_at, SCAN_RUN.c.status).where(
        SCAN_RUN.c.started_at >= since, SCAN_RUN.c.started_at <= until
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    dues = {key: sorted(values) for key, values in samples.dues.items()}
    last_run: dict[tuple[int, str], datetime] = {}
    runs, statuses = [], Counter[str]()
    for row in rows:
        key, interval = (row.endpoint_id, row.check), interval_of(row.check, interval_s)
        statuses[row.status] += 1
        last_run[key] = max(last_run.get(key, row.started_at), row.started_at)
        position = bisect.bisect_right(dues.get(key, []), row.started_at)
        if position and (due := dues[key][position - 1]) >= since:
            delay = (row.started_at - due).total_seconds()
            runs.append(Run(row.started_at, delay, delay > interval))
    never = 0
    for key, values in dues.items():
        overdue = until - timedelta(seconds=interval_of(key[1], interval_s))
        never += any(since <= due < overdue and due > last_run.get(key, since) for due in values)
    return runs, never, statuses


def timeline(runs: list[Run], points: list[Point], since: datetime) -> None:
    """Per minute, to stderr: runs, late runs, median delay, load average, the daemon's CPU share, RSS, fds."""
    print("minute runs late delay_p50_s load daemon_cpu_pct rss_mb fds", file=sys.stderr)
    by_minute: dict[int, list[Run]] = defaultdict(list)
    for run in runs:
        by_minute[int((run.started - since).total_seconds() // 60)].append(run)
    for minute in range(int(points[-1].t // 60) + 1):
        chunk = [p for p in points if minute * 60 <= p.t < minute * 60 + 60] or points[-1:]
        group = by_minute.get(minute, [])
        delay = statistics.median(r.delay_s for r in group) if group else 0.0
        cpu = (chunk[-1].cpu_s - chunk[0].cpu_s) / max(1e-9, chunk[-1].t - chunk[0].t) * 100
        load = statistics.median(p.load for p in chunk)
        print(
            f"{minute} {len(group)} {sum(r.late for r in group)} {delay:.1f} {load:.1f} {cpu:.0f}"
            f" {chunk[-1].rss_mb:.0f} {chunk[-1].fds}",
            file=sys.stderr,
        )


def daemon_problems(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line or "Traceback" in line]


async def soak(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    endpoints = plan(args.endpoints)
    fleet = Fleet(trustme.CA())
    for endpoint in endpoints:
        await fleet.open(endpoint)
    ca_file = workdir / "ca.pem"
    fleet.ca.cert_pem.write_to_path(str(ca_file))
    url = f"sqlite+aiosqlite:///{workdir}/posture.db"
    tokens, scraper = await seed(url, endpoints, args.interval, ca_file)
    broker = start_broker(workdir / "broker")
    engine = make_engine(url)
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    subscriber = Subscriber(broker, ["posture/v1/alerts/#"], identifier="soak-subscriber")
    samples, api, restarts, stop = Samples(), ApiLoad(), [0], asyncio.Event()
    daemon = start_daemon(url, workdir, broker, http_port, args.tls_full_every)
    tasks: list[asyncio.Task[None]] = []
    try:
        async with subscriber:
            await wait_healthy(base, daemon)
            t0, since, bench_cpu = time.monotonic(), datetime.now(UTC), time.process_time()
            print(f"daemon {daemon.pid} up; soaking for {args.duration:.0f} s in {workdir}", file=sys.stderr)
            flappers = [e for e in endpoints if e.kind == "flapping"]
            tasks = [
                asyncio.create_task(sample(daemon, engine, samples, t0)),
                *(
                    asyncio.create_task(fleet.flap(e, 2.5 * args.interval, 2.5 * args.interval, i * 5 % 150))
                    for i, e in enumerate(flappers)
                ),
            ]
            background = [
                asyncio.create_task(restart_broker(broker, args.broker_every, args.broker_down, stop, restarts)),
                asyncio.create_task(api.run(base, tokens, scraper, args.api_rate, stop)),
            ]
            done, _ = await asyncio.wait([tasks[0], *background], timeout=args.duration)
            for task in done:
                task.result()  # a sampler or load failure ends the run with its error
            stop.set()
            await asyncio.gather(*background)
            until = datetime.now(UTC)
            bench_cpu_pct = (time.process_time() - bench_cpu) / (time.monotonic() - t0) * 100
            sent = await drain(engine, subscriber, args.drain_timeout)
            received = received_ids(subscriber)
            messages = len(subscriber.payloads())
        daemon.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(daemon.wait, 60)
        runs, never_ran, statuses = await lateness(engine, samples, args.interval, since, until)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        await engine.dispose()
        broker.stop()
        fleet.close()
    points = samples.points
    warmup, span = 0.2 * args.duration, max(30.0, 0.1 * args.duration)
    start_window = samples.window(warmup, warmup + span)
    end_window = samples.window(args.duration - span, args.duration)
    rss_start = statistics.median(p.rss_mb for p in start_window)
    rss_end = statistics.median(p.rss_mb for p in end_window)
    fds_start, fds_end = min(p.fds for p in start_window), min(p.fds for p in end_window)
    problems = daemon_problems(workdir / "daemon.log")
    for line in problems[:20]:
        print(f"daemon: {line}", file=sys.stderr)
    print(f"scan runs by status: {dict(statuses)}; due but never run: {never_ran}", file=sys.stderr)
    timeline(runs, points, since)
    lost = set(sent) - received
    delays = sorted(run.delay_s for run in runs)
    latencies = sorted(api.latencies) or [0.0]
    checks_total = len(runs) + never_ran
    return {
        "duration_s": f"{args.duration:.0f}",
        "endpoints": str(len(endpoints)),
        "interval_s": f"{args.interval:g}",
        "broker_restarts": str(restarts[0]),
        "daemon_exit": str(exit_code),
        "daemon_errors": str(len(problems)),
        "load_avg_median": f"{statistics.median(p.load for p in points):.1f}",
        "daemon_cpu_pct": f"{(points[-1].cpu_s - points[0].cpu_s) / (points[-1].t - points[0].t) * 100:.0f}",
        "bench_cpu_pct": f"{bench_cpu_pct:.0f}",
        "rss_mb_start": f"{rss_start:.1f}",
        "rss_mb_end": f"{rss_end:.1f}",
        "rss_mb_peak": f"{max(p.rss_mb for p in points):.1f}",
        "fds_start": str(fds_start),
        "fds_end": str(fds_end),
        "alerts_written": str(len(sent)),
        "alerts_sent": str(sum(at is not None for at in sent.values())),
        "alerts_received": str(len(received)),
        "alerts_duplicates": str(messages - len(received)),
        "checks_total": str(checks_total),
        "checks_late": str(sum(run.late for run in runs) + never_ran),
        "delay_p50_s": f"{delays[len(delays) // 2] if delays else 0:.1f}",
        "delay_p99_s": f"{delays[int(len(delays) * 0.99)] if delays else 0:.1f}",
        "api_requests": str(api.requests),
        "api_errors": str(api.errors),
        "api_p50_ms": f"{latencies[len(latencies) // 2] * 1000:.0f}",
        "api_p99_ms": f"{latencies[int(len(latencies) * 0.99)] * 1000:.0f}",
        "rss_growth_pct": f"{(rss_end - rss_start) / rss_start * 100:.1f}",
        "fd_growth": str(fds_end - fds_start),
        "alerts_lost": str(len(lost)),
        "checks_late_pct": f"{(sum(run.late for run in runs) + never_ran) / max(1, checks_total) * 100:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load after start-up (600)")
    parser.add_argument("--endpoints", type=int, default=500)
    parser.add_argument("--interval", type=float, default=30.0, help="reachability interval in s; TLS: twice (30)")
    parser.add_argument("--api-rate", type=float, default=5.0, help="API requests per second (5)")
    parser.add_argument("--broker-every", type=float, default=60.0, help="stop the broker this often, in s (60)")
    parser.add_argument("--broker-down", type=float, default=5.0, help="for this long, in s (5)")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="final drain at most this long (120)")
    parser.add_argument(
        "--tls-full-every", type=float, default=300.0, help="TLS full scan period in s; 0: always (300)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the database, daemon.log and broker log here")
    args = parser.parse_args()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(soak(args, args.workdir.resolve()))
    else:
        with tempfile.TemporaryDirectory(prefix="posture-soak-") as tmp:
            figures = asyncio.run(soak(args, Path(tmp)))
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()

"""Several replicas on one real PostgreSQL: leased work runs exactly once, a killed replica's work and its
publisher role are taken over, and the api role serves the shared state."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.cadence import Cadence
from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.tables import CHECK_STATE, OUTBOX, SCAN_RUN
from tests.conftest import POSTURE, free_port, posture_env
from tests.mqtt_broker import Broker, start_broker, subscribed

INTERVAL_S = 5.0
ENDPOINTS = 500


async def seed_closed_ports(url: str) -> None:
    """500 endpoints whose ports nothing listens on: a refused connect is the fastest real check."""
    engine = make_engine(url)
    await upgrade(engine)
    registry, actor, cadence = Registry(engine), Actor("test"), Cadence(INTERVAL_S)
    await registry.add_agency("lk-scale", "Landkreis Scale", actor)
    await registry.add_scope("lk-scale", "127.0.0.0/8", actor)
    for n in range(ENDPOINTS):
        await registry.add_endpoint(
            "lk-scale", f"127.1.{n // 250}.{n % 250 + 1}", 9, ["reachability"], cadence, actor,
            intervals={"reachability": INTERVAL_S},
        )  # fmt: skip
    async with engine.begin() as conn:  # spread the first runs evenly over one interval
        for n in range(ENDPOINTS):
            due = datetime.now(UTC) + timedelta(seconds=INTERVAL_S * n / ENDPOINTS)
            await conn.execute(update(CHECK_STATE).where(CHECK_STATE.c.endpoint_id == n + 1).values(next_due=due))
    await engine.dispose()


class Replicas:
    def __init__(self, workdir: Path, url: str, broker: Broker | None = None) -> None:
        self.workdir, self.url, self.broker = workdir, url, broker
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.http: dict[str, int] = {}

    def start(self, name: str, role: str, **overrides: str) -> None:
        """Start `posture run --role ROLE` as replica `name`; `overrides` replace POSTURE_* defaults below."""
        settings = {
            "POSTURE_INSTANCE_ID": name,
            "POSTURE_JITTER": "0",
            "POSTURE_LEASE_S": "10",
            "POSTURE_GRACE_PERIOD_S": "2",
            "POSTURE_UNREACHABLE_AFTER": "1",
            "POSTURE_CONCURRENCY": "100",
            "POSTURE_METRICS_REFRESH_S": "1",
            "POSTURE_CHECKS": '{"reachability": {"connect_timeout_s": 1, "timeout_s": 3, "probe_tls": false}}',
        }
        if self.broker:
            settings["POSTURE_MQTT_URL"] = self.broker.url
        env = posture_env(self.url, **{**settings, **overrides})
        self.http[name] = free_port()
        env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{self.http[name]}"
        with (self.workdir / f"{name}.log").open("ab") as log:  # the child keeps its own copy; a restart appends
            self.processes[name] = subprocess.Popen([*POSTURE, "run", "--role", role], env=env, stderr=log)

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop_all(self) -> dict[str, int]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return {name: process.wait(timeout=30) for name, process in self.processes.items()}


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[Replicas]:
    group = Replicas(tmp_path, postgres_url)
    yield group
    for process in group.processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


async def runs_by_endpoint(url: str) -> dict[int, list[tuple[datetime, str]]]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(select(SCAN_RUN.c.endpoint_id, SCAN_RUN.c.started_at, SCAN_RUN.c.worker))
        runs: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        for row in rows:
            runs[row.endpoint_id].append((row.started_at, row.worker))
    await engine.dispose()
    return {endpoint: sorted(times) for endpoint, times in runs.items()}


async def first_result(url: str, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await runs_by_endpoint(url):
            await asyncio.sleep(0.2)


def gaps(times: list[tuple[datetime, str]]) -> list[float]:
    return [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(times)]


async def test_two_scanners_run_every_due_check_exactly_once_per_interval(
    replicas: Replicas, postgres_url: str
) -> None:
    await seed_closed_ports(postgres_url)
    replicas.start("scanner-a", "scanner")
    replicas.start("scanner-b", "scanner")
    replicas.start("api-1", "api")
    engine = make_engine(postgres_url)
    token = (await AccessStore(engine).create_token("metrics", None, "prometheus", Actor("test"))).token
    await engine.dispose()
    await first_result(postgres_url)  # interpreter start-up is not scheduling: the intervals count from here
    await asyncio.sleep(4 * INTERVAL_S + 2)

    def scrape(name: str, bearer: str | None = token) -> bytes:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        request = urllib.request.Request(f"http://127.0.0.1:{replicas.http[name]}/metrics", headers=headers)
        return bytes(urllib.request.urlopen(request, timeout=10).read())

    metrics = await asyncio.to_thread(scrape, "api-1")
    # each scanner serves what it ran (runs, durations); the shared state comes from the api role alone
    scanner_metrics = await asyncio.to_thread(scrape, "scanner-a")
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(scrape, "scanner-b", None)
    codes = replicas.stop_all()
    assert set(codes.values()) == {0}, {name: replicas.log(name)[-2000:] for name in codes}
    runs = await runs_by_endpoint(postgres_url)
    assert len(runs) == ENDPOINTS
    assert all(len(times) >= 4 for times in runs.values()), "an endpoint missed an interval"
    assert min(gap for times in runs.values() for gap in gaps(times)) > INTERVAL_S - 0.5, "a check ran twice"
    assert max(gap for times in runs.values() for gap in gaps(times)) < INTERVAL_S + 2.0, "a check ran late"
    workers = {worker for times in runs.values() for _, worker in times}
    assert workers == {"scanner-a", "scanner-b"}
    assert metrics.count(b"posture_endpoint_info{") == ENDPOINTS
    ran = re.findall(rb'^posture_check_runs_total\{check="reachability",status="\w+"\} ([\d.]+)', scanner_metrics, re.M)
    assert sum(float(count) for count in ran) > 0
    assert b"posture_check_duration_seconds_count" in scanner_metrics
    assert b"posture_endpoint_info" not in scanner_metrics
    assert refused.value.code == 401


async def test_a_killed_scanner_is_taken_over_with_nothing_lost_or_doubled(
    tmp_path: Path, replicas: Replicas, postgres_url: str
) -> None:
    broker = start_broker(tmp_path / "broker")
    replicas.broker = broker
    try:
        await seed_closed_ports(postgres_url)
        async with subscribed(broker, "posture/v1/alerts/#") as subscriber:
            replicas.start("scanner-a", "scanner")
            await asyncio.sleep(1.5)  # scanner-a takes the publisher role first
            replicas.start("scanner-b", "scanner")
            await asyncio.sleep(INTERVAL_S)
            assert "leading publisher" in replicas.log("scanner-a")
            killed_at = datetime.now(UTC)
            replicas.kill("scanner-a")  # mid-lease: it had claimed work in flight
            await asyncio.sleep(10 + 2 * INTERVAL_S)  # lease expiry, then two intervals
            engine = make_engine(postgres_url)
            async with engine.connect() as conn:
                expected = {row.event_id for row in await conn.execute(select(OUTBOX.c.event_id))}
            await engine.dispose()
            await subscriber.wait_for(lambda s: expected <= {p["id"] for p in s.payloads()}, timeout=30)
        assert "leading publisher" in replicas.log("scanner-b")
        assert len(expected) == ENDPOINTS  # one endpoint.unreachable each, every one delivered
        assert replicas.stop_all()["scanner-b"] == 0
    finally:
        broker.stop()
    runs = await runs_by_endpoint(postgres_url)
    for times in runs.values():
        after = [t for t, worker in times if t > killed_at + timedelta(seconds=10 + INTERVAL_S)]
        assert after, "an endpoint of the killed scanner was never taken over"
        assert min(gaps(times), default=INTERVAL_S) > INTERVAL_S - 0.5, "a check was recorded twice"

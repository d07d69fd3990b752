"""Benchmark: alert delivery through a real Mosquitto on loopback.

1. Drain: 10,000 queued outbox rows published with QoS 1 and marked sent → `msgs_per_s`.
2. Latency: findings committed at 50 per second through the real store path (reconcile, outbox in the same
   transaction); time from each commit to its arrival at a subscriber → `latency_p99_ms`.
Usage: python bench/alerts.py [--rows N] [--findings N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, update

from checks.base import CheckContext
from monitor.alerter import BrokerConfig, Publisher
from monitor.findings import Policy
from monitor.models import Severity, Target
from monitor.runner import execute
from monitor.store.engine import make_engine
from monitor.store.outbox_store import OutboxStore
from monitor.store.schema import upgrade
from monitor.store.tables import CHECK_STATE, OUTBOX
from monitor.store.work import WorkQueue
from monitor.usecases.alerting import AlertRouter
from monitor.usecases.recording import Recorder
from tests.fake_checks import FakeConfig, ToggleCheck
from tests.mqtt_broker import Subscriber, start_broker
from tests.test_scheduler import CADENCE, seed


async def run_publisher(publisher: Publisher) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(publisher.run(stop))
    while not publisher.connected:
        await asyncio.sleep(0.01)
    return stop, task


async def drain(workdir: Path, broker: Any, rows: int) -> float:
    engine = make_engine(f"sqlite+aiosqlite:///{workdir}/drain.db")
    await upgrade(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(OUTBOX),
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "finding.opened",
                    "agency": "bench",
                    "endpoint_id": i % 1000 + 1,
                    "severity": int(Severity.HIGH),
                    "data": {"agency": "bench", "key": "tls.cert.expired", "title": "Certificate expired", "n": i},
                    "created_at": now,
                }
                for i in range(rows)
            ],
        )
    outbox = OutboxStore(engine)
    publisher = Publisher(outbox, BrokerConfig.from_url(broker.url), "bench-drain")
    started = time.perf_counter()
    stop, task = await run_publisher(publisher)
    while await outbox.count_pending():
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await engine.dispose()
    return rows / elapsed


async def latency(workdir: Path, broker: Any, findings: int, rate: float) -> list[float]:
    engine = make_engine(f"sqlite+aiosqlite:///{workdir}/latency.db")
    await upgrade(engine)
    await seed(engine, [(f"127.0.{i // 200}.{i % 200 + 2}", 443) for i in range(findings)], ["toggle"], 3600)
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    queue = WorkQueue(engine, "bench", CADENCE, 600)
    recorder = Recorder(queue, Policy(), AlertRouter("http://127.0.0.1:8080", Severity.LOW))
    items = (await queue.claim(datetime.now(UTC), findings)).items
    publisher = Publisher(OutboxStore(engine), BrokerConfig.from_url(broker.url), "bench-latency")
    recorder.on_outbox = publisher.notify
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    subscriber = Subscriber(broker, ["posture/v1/alerts/#"], identifier="bench-subscriber")
    async with subscriber:
        stop, task = await run_publisher(publisher)
        ToggleCheck.present = True
        for item in items:
            tick = time.perf_counter()
            result = await execute(
                ToggleCheck(), Target(item.host, item.port, item.endpoint_id), FakeConfig(), CheckContext()
            )
            await recorder.record([(item, result)])
            committed[item.endpoint_id] = time.perf_counter()
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick)))
        deadline = time.perf_counter() + 30
        while len(subscriber.messages) < findings and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        for message, at in zip(subscriber.messages, subscriber.arrivals, strict=True):
            arrived.setdefault(json.loads(message.payload)["data"]["endpoint_id"], at)  # type: ignore[arg-type]
        print(f"messages={len(subscriber.messages)} distinct={len(arrived)}", file=sys.stderr)
        stop.set()
        await task
    await engine.dispose()
    return [(arrived[e] - committed[e]) * 1000 for e in committed if e in arrived]


async def main(rows: int, findings: int) -> None:
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        broker = start_broker(Path(workdir) / "broker")
        try:
            msgs_per_s = await drain(Path(workdir), broker, rows)
            latencies = await latency(Path(workdir), broker, findings, rate=50.0)
        finally:
            broker.stop()
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"rows={rows}")
    print(f"findings={findings} delivered={len(latencies)} rate_per_s=50")
    print(f"latency_p50_ms={statistics.median(latencies):.1f}")
    print(f"msgs_per_s={msgs_per_s:.0f}")
    print(f"latency_p99_ms={p99:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--findings", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.findings))

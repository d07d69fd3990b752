"""Benchmark: dispatch throughput and peak memory of the scheduler over 100,000 endpoints in SQLite.

Every endpoint has the no-op check, all due now; the scheduler claims, runs and records them through the
real store (leases, scan_run rows, latest results, next due times). Prints `dispatch_per_s=N` and `rss_mb=M`.
Usage: python bench/scheduler.py [--endpoints N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from checks.base import Check
from monitor.cadence import Cadence
from monitor.scheduler import Limits, Scheduler
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, SCOPE
from monitor.store.work import WorkQueue
from tests.fake_checks import FakeConfig, NoopCheck


async def seed(engine: Any, count: int) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(AGENCY).values(id=1, slug="bench", name="Bench", created_at=now))
        await conn.execute(insert(SCOPE).values(agency_id=1, kind="cidr", value="127.0.0.0/8", created_at=now))
        for start in range(0, count, 10_000):
            ids = range(start + 1, min(start + 10_000, count) + 1)
            await conn.execute(
                insert(ENDPOINT),
                [
                    {
                        "id": i,
                        "agency_id": 1,
                        "host": f"127.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",  # never contacted: no-op check
                        "port": 443,
                        "checks": ["noop"],
                        "intervals": {},
                        "labels": {},
                        "expected_ports": [],
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(CHECK_STATE),
                [
                    {
                        "endpoint_id": i,
                        "check": "noop",
                        "next_due": now - timedelta(seconds=1),
                        "consecutive_failures": 0,
                    }
                    for i in ids
                ],
            )


async def main(endpoints: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{workdir}/bench.db")
        await upgrade(engine)
        started = time.perf_counter()
        await seed(engine, endpoints)
        print(f"seeded {endpoints} endpoints in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        queue = WorkQueue(engine, "bench", Cadence(86_400, rng=random.Random(1)), lease_s=600)
        checks: dict[str, Check[Any, Any]] = {"noop": NoopCheck()}
        limits = Limits(concurrency=concurrency, per_host=1, claim_batch=1000, flush_size=1000)
        scheduler = Scheduler(queue, checks, {"noop": FakeConfig()}, limits)
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run(stop))
        while scheduler.recorded < endpoints:
            await asyncio.sleep(0.05)
            if task.done():
                raise RuntimeError("scheduler stopped early") from task.exception()
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        await engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"endpoints={endpoints}")
    print(f"concurrency={concurrency}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"dispatch_per_s={endpoints / elapsed:.0f}")
    print(f"rss_mb={rss_mb:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.endpoints, args.concurrency))

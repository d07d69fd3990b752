"""The benchmarks that drive the real scheduler (bench/dnssec.py, bench/mail.py, bench/web.py): one agency with its
scope and assets, all due now, written straight into a fresh store, and the scheduler run until every result is
recorded."""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from checks import REGISTRY
from checks.base import Check, CheckConfig
from monitor.cadence import Cadence
from monitor.scheduler import Limits, Scheduler
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, LATEST, SCOPE
from monitor.store.work import WorkQueue


async def seed_due_assets(
    engine: Any, scopes: Sequence[tuple[str, str]], hosts: Sequence[str], port: int, check: str
) -> None:
    """Agency 1 with `scopes` ((kind, value): "domain" or "cidr"), and `hosts` at `port` (DOMAIN_PORT for domains),
    ids 1…n, each registered for `check` and due a second ago."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(AGENCY).values(id=1, slug="bench", name="Bench", created_at=now))
        await conn.execute(
            insert(SCOPE), [{"agency_id": 1, "kind": kind, "value": value, "created_at": now} for kind, value in scopes]
        )
        rows = [
            {"id": i, "agency_id": 1, "host": host, "port": port, "checks": [check], "intervals": {},
             "labels": {}, "expected_ports": [], "created_at": now}
            for i, host in enumerate(hosts, start=1)
        ]  # fmt: skip
        await conn.execute(insert(ENDPOINT), rows)
        due = now - timedelta(seconds=1)
        states = [
            {"endpoint_id": i, "check": check, "next_due": due, "consecutive_failures": 0}
            for i in range(1, len(hosts) + 1)
        ]
        await conn.execute(insert(CHECK_STATE), states)


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    elapsed_s: float  # from the scheduler's start until every asset's result was recorded
    cpu_s: float  # this process's CPU (all threads) in that time
    rows: list[Any]  # (status, details) of every latest result


async def run_scheduled(
    check: str,
    config: CheckConfig,
    scopes: Sequence[tuple[str, str]],
    hosts: Sequence[str],
    port: int,
    *,
    concurrency: int,
    flush_size: int = 250,
    resources: Mapping[str, Any] | None = None,
) -> ScheduledRun:
    """The real scheduler running the real `check` on `hosts` (seeded by `seed_due_assets` into a fresh SQLite
    store) until every result is recorded through the real store."""
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{workdir}/bench.db")
        await upgrade(engine)
        await seed_due_assets(engine, scopes, hosts, port, check)
        queue = WorkQueue(engine, "bench", Cadence(86_400, rng=random.Random(1)), lease_s=600)
        checks: dict[str, Check[Any, Any]] = {check: REGISTRY[check]()}
        limits = Limits(concurrency=concurrency, per_host=1, claim_batch=1000, flush_size=flush_size)
        scheduler = Scheduler(queue, checks, {check: config}, limits, resources=resources)
        stop = asyncio.Event()
        cpu = cpu_s()
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run(stop))
        while scheduler.recorded < len(hosts):
            await asyncio.sleep(0.01)
            if task.done():
                raise RuntimeError("scheduler stopped early") from task.exception()
        elapsed = time.perf_counter() - started
        cpu = cpu_s() - cpu
        stop.set()
        await task
        async with engine.connect() as conn:
            rows = list((await conn.execute(select(LATEST.c.status, LATEST.c.details))).all())
        await engine.dispose()
    return ScheduledRun(elapsed, cpu, rows)


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    """User and system CPU seconds of this process (all its threads) or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime

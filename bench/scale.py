"""Benchmark: dispatch throughput on PostgreSQL with 1 and with 2 scanner replicas (separate processes).

100,000 endpoints with the no-op check, all due at once, in a throwaway database on the PostgreSQL server at
POSTURE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres). Each replica is the real scheduler
and store path: leased claims (FOR UPDATE SKIP LOCKED), batched recording. PostgreSQL shares the 2 cores.
Also the CPU each dispatch costs in the replicas and in PostgreSQL (its backends for the bench database and its
WAL writer, checkpointer and background writer), and what that allows: with replica cost r and database cost p
per dispatch, two replicas on both cores can do at most `dispatch_2_cpu_bound` = 2/(r+p) a second. One replica
does less than 1/r, since it waits for the database between batches. Last lines: `dispatch_1=N`,
`dispatch_2=M`, `scaling_2x=M/N`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import psutil
from sqlalchemy import delete, insert, update

from checks.base import Check
from monitor.cadence import Cadence
from monitor.scheduler import Limits, Scheduler
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, LATEST, SCAN_RUN, SCOPE
from monitor.store.work import WorkQueue
from tests.fake_checks import FakeConfig, NoopCheck


def host(i: int) -> str:
    return f"127.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"  # never contacted: the no-op check


async def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(AGENCY).values(id=1, slug="bench", name="Bench", created_at=now))
        await conn.execute(insert(SCOPE).values(agency_id=1, kind="cidr", value="127.0.0.0/8", created_at=now))
        for start in range(0, count, 10_000):
            ids = range(start + 1, min(start + 10_000, count) + 1)
            await conn.execute(insert(ENDPOINT), [
                {"id": i, "agency_id": 1, "host": host(i), "port": 443, "checks": ["noop"], "intervals": {},
                 "labels": {}, "expected_ports": [], "check_settings": {}, "created_at": now}
                for i in ids])  # fmt: skip
            await conn.execute(
                insert(CHECK_STATE),
                [{"endpoint_id": i, "check": "noop", "next_due": now, "consecutive_failures": 0} for i in ids],
            )
    await engine.dispose()


async def reset(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(SCAN_RUN))
        await conn.execute(delete(LATEST))
        await conn.execute(
            update(CHECK_STATE).values(
                next_due=datetime.now(UTC) - timedelta(seconds=1), lease_owner=None, lease_expires=None
            )
        )
    await engine.dispose()


class Progress:
    """How many runs are recorded, asked over one open connection: far from the goal, the primary key's
    maximum (an index look-up) less where the sequence stood at the reset; near it, an exact count. Watching
    costs the measured cores little (a new engine and a full count five times a second did not)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.connection = self.loop.run_until_complete(asyncpg.connect(url.replace("+asyncpg", "", 1)))
        self.base = 0

    def _fetch(self, query: str) -> int:
        return int(self.loop.run_until_complete(self.connection.fetchval(query)) or 0)

    def restart(self) -> None:
        self.base = self._fetch("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM scan_run_id_seq")

    def exact(self) -> int:
        return self._fetch("SELECT count(*) FROM scan_run")

    def reached(self, goal: int) -> bool:
        return self._fetch("SELECT max(id) FROM scan_run") - self.base >= goal and self.exact() >= goal

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()


def replica(url: str, name: str, stop: EventType) -> None:
    async def run() -> None:
        engine = make_engine(url)
        queue = WorkQueue(engine, name, Cadence(86_400), lease_s=600)
        checks: dict[str, Check[Any, Any]] = {"noop": NoopCheck()}
        limits = Limits(concurrency=500, claim_batch=1000, flush_size=1000)
        scheduler = Scheduler(queue, checks, {"noop": FakeConfig()}, limits)
        stopping = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stopping))
        while not stop.is_set():
            await asyncio.sleep(0.1)
        stopping.set()
        await task
        await engine.dispose()

    asyncio.run(run())


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def postgres_processes(database: str) -> list[psutil.Process]:
    """The server processes that work for the bench: its database's backends and the shared WAL/buffer writers."""
    wanted = (f" {database} ", "walwriter", "checkpointer", "background writer")
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if command.startswith("postgres:") and any(part in command + " " for part in wanted):
            found.append(process)
    return found


@dataclass
class Run:
    rate: float
    replica_cpu_us: float
    database_cpu_us: float


def measure(url: str, database: str, replicas: int, total: int) -> Run:
    asyncio.run(reset(url))
    progress = Progress(url)
    progress.restart()
    stop = multiprocessing.get_context("spawn").Event()
    processes = [
        multiprocessing.get_context("spawn").Process(target=replica, args=(url, f"scanner-{n}", stop))
        for n in range(replicas)
    ]
    for process in processes:
        process.start()
    # throughput from the first recorded result on: interpreter start-up is not dispatching
    while (first := progress.exact()) == 0:
        time.sleep(0.05)
    started = time.perf_counter()
    workers = [psutil.Process(process.pid) for process in processes]
    server = postgres_processes(database)
    replica_cpu, database_cpu = cpu_seconds(workers), cpu_seconds(server)
    while not progress.reached(total):
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    replica_cpu = cpu_seconds(workers) - replica_cpu
    database_cpu = cpu_seconds(server) - database_cpu  # backends that start later are missed: a lower bound
    total -= first
    progress.close()
    stop.set()
    for process in processes:
        process.join(60)
    print(f"replicas={replicas} elapsed_s={elapsed:.2f} for {total} dispatches", file=sys.stderr)
    return Run(total / elapsed, replica_cpu / total * 1e6, database_cpu / total * 1e6)


async def create_database(admin: str) -> tuple[str, str]:
    name = f"posture_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return name, admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


async def drop_database(admin: str, name: str) -> None:
    connection = await asyncpg.connect(admin)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


def main(count: int) -> None:
    admin = os.environ.get("POSTURE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    name, url = asyncio.run(create_database(admin))
    try:
        started = time.perf_counter()
        asyncio.run(seed(url, count))
        print(f"seeded {count} endpoints in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        one = measure(url, name, 1, count)
        two = measure(url, name, 2, count)
    finally:
        asyncio.run(drop_database(admin, name))
    replica_us, database_us = one.replica_cpu_us, one.database_cpu_us
    print(f"endpoints={count}")
    print(f"replica_cpu_us_per_dispatch={replica_us:.0f}")
    print(f"postgres_cpu_us_per_dispatch={database_us:.0f}")
    print(f"dispatch_2_cpu_bound={2e6 / (replica_us + database_us):.0f}")
    print(f"dispatch_1={one.rate:.0f}")
    print(f"dispatch_2={two.rate:.0f}")
    print(f"scaling_2x={two.rate / one.rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=100_000)
    main(parser.parse_args().endpoints)

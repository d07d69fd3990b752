"""Which database errors the daemon waits out and which it treats as bugs (real errors of real databases);
leases that run out while their check still runs."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.scheduler import Limits, Scheduler
from monitor.store.availability import describe, unavailable
from monitor.store.engine import make_engine
from monitor.store.tables import SCAN_RUN
from monitor.store.work import WorkQueue
from tests.fake_checks import FAKE_REGISTRY, FakeConfig
from tests.test_scheduler import CADENCE, count, seed


async def error_of(url: str, *statements: str) -> DBAPIError:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    except DBAPIError as err:
        return err
    finally:
        await engine.dispose()
    raise AssertionError("no error")


async def test_sqlite_read_only_is_waited_out_a_missing_table_is_a_bug(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    sqlite3.connect(database).close()
    read_only = f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true"
    refused = await error_of(read_only, "CREATE TABLE t (a)")
    assert unavailable(refused) and describe(refused) == "attempt to write a readonly database"
    assert not unavailable(await error_of(f"sqlite+aiosqlite:///{database}", "SELECT * FROM missing"))


async def test_postgresql_shutdown_is_waited_out_a_constraint_is_a_bug(postgres_url: str) -> None:
    terminated = await error_of(postgres_url, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert unavailable(terminated), describe(terminated)
    duplicate = await error_of(postgres_url, "CREATE TEMP TABLE t (a int UNIQUE)", "INSERT INTO t VALUES (1), (1)")
    assert not unavailable(duplicate)
    with pytest.raises(OSError) as refused:  # nothing listens there: a raw OSError, waited out too
        await error_of(postgres_url.replace(postgres_url.split("@")[1].split("/")[0], "127.0.0.1:1"), "SELECT 1")
    assert unavailable(refused.value)


async def test_a_check_outliving_its_lease_is_not_started_a_second_time(engine: AsyncEngine) -> None:
    # Given a check that runs longer (0.5 s, its timeout) than its lease (0.1 s), and a scheduler that claims often
    await seed(engine, [("127.0.0.2", 443)], ["hang"], interval=3600)
    queue = WorkQueue(engine, "test-1", CADENCE, lease_s=0.1)
    checks = {name: cls() for name, cls in FAKE_REGISTRY.items()}
    configs = dict.fromkeys(FAKE_REGISTRY, FakeConfig(timeout_s=0.5))
    scheduler = Scheduler(queue, checks, configs, Limits(concurrency=4, idle_poll_s=0.02))
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(1.5)
    stop.set()
    await running
    # Then it ran once: claiming the expired lease again renewed it, and nothing else
    assert scheduler.dispatched == 1
    assert await count(engine, SCAN_RUN) == 1

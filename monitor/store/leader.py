"""One leader among replicas, for work that must run exactly once at a time (the outbox publisher, the
lifecycle sweep): a PostgreSQL session advisory lock. It is released when its connection ends, so a replica
that dies hands the work over at once; others try again every few seconds. SQLite means one process: it leads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.aio import first_of
from monitor.store.availability import describe

log = logging.getLogger(__name__)

RETRY_S = 2.0
HEARTBEAT_S = 2.0

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, derived from the job's name."""
    return int.from_bytes(hashlib.sha256(f"posture-monitor:{name}".encode()).digest()[:8], "big", signed=True)


async def lead(engine: AsyncEngine, name: str, job: Job, stop: asyncio.Event) -> None:
    """Run `job` while this process holds the lock `name`, until `stop` is set."""
    if engine.dialect.name != "postgresql":
        await job(stop)
        return
    key = lock_key(name)
    while not stop.is_set():
        try:
            async with engine.connect() as conn:
                if await _try_lock(conn, key):
                    log.info("leading %s", name)
                    await _hold(conn, name, job, stop)
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await conn.commit()
        except (SQLAlchemyError, OSError) as err:
            log.warning("leadership of %s lost or not reachable: %s", name, describe(err, engine.url))
        await first_of(stop, wait_s=RETRY_S)


async def _try_lock(conn: AsyncConnection, key: int) -> bool:
    acquired = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar()
    await conn.commit()  # the lock belongs to the session, not to a transaction
    return bool(acquired)


async def _hold(conn: AsyncConnection, name: str, job: Job, stop: asyncio.Event) -> None:
    """Run the job; end it when `stop` is set or the lock's connection dies (then another replica leads)."""
    job_stop = asyncio.Event()
    task = asyncio.create_task(job(job_stop), name=f"leader:{name}")
    try:
        while not stop.is_set() and not task.done():
            await first_of(stop, wait_s=HEARTBEAT_S)
            if not task.done():
                await conn.execute(text("SELECT 1"))
                await conn.commit()
    finally:
        job_stop.set()
        await task


async def once_as_leader(engine: AsyncEngine, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> bool:
    """Run `job` now unless another replica runs the job of this name at this moment; True when it ran here."""
    if engine.dialect.name != "postgresql":
        await job()
        return True
    key = lock_key(name)
    async with engine.connect() as conn:
        if not await _try_lock(conn, key):
            return False
        try:
            await job()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.commit()
    return True

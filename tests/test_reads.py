"""The API's reads (monitor/store/reads.py) on SQLite: one step in the reader's own threads, the same rows as the
async engine, closed with it; and the token last uses written in the background, a burst in one transaction."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.reads import reader
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.tables import AGENCY, API_TOKEN

ACTOR = Actor("test")


def statements(engine: Any) -> list[tuple[str, str]]:
    """(thread name, SQL) of every statement `engine` (a sync Engine) executes from now on."""
    seen: list[tuple[str, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append((threading.current_thread().name, sql))

    return seen


async def test_a_read_is_one_call_in_the_readers_threads_and_sees_committed_writes(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    reads = reader(engine)
    assert reader(engine) is reads  # one per engine
    assert reads._sync is not None
    on_reader, on_engine = statements(reads._sync), statements(engine.sync_engine)
    for number in range(3):
        await registry.add_agency(f"lk-{number}", f"Landkreis {number}", ACTOR)
        query = select(AGENCY.c.slug).order_by(AGENCY.c.id)
        assert [row.slug for row in await reads.all(query)] == [f"lk-{n}" for n in range(number + 1)]
    async with engine.connect() as conn:
        assert (await conn.execute(select(AGENCY.c.slug).order_by(AGENCY.c.id))).all() == list(await reads.all(query))
    selects = [(thread, sql) for thread, sql in on_reader if sql.startswith("SELECT")]
    assert len(selects) == 4 and all(thread.startswith("sqlite-read") for thread, _ in selects)
    assert len([sql for _, sql in on_engine if sql.startswith("SELECT agency.slug")]) == 1  # the comparison


async def test_dispose_closes_the_read_connections_and_a_later_read_opens_them_again(engine: AsyncEngine) -> None:
    reads = reader(engine)
    assert reads._sync is not None
    await reads.all(text("SELECT 1"))
    assert reads._sync.pool.checkedin() == 1
    await engine.dispose()
    assert reads._sync.pool.checkedin() == 0 and reads._threads is None
    assert [tuple(row) for row in await reads.all(text("SELECT 2"))] == [(2,)]


async def test_an_in_memory_database_is_read_through_the_async_engine() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        await upgrade(engine)
        await Registry(engine).add_agency("lk-mem", "Landkreis Speicher", ACTOR)
        reads = reader(engine)
        assert reads._sync is None
        assert [row.slug for row in await reads.all(select(AGENCY.c.slug))] == ["lk-mem"]
    finally:
        await engine.dispose()


async def test_a_burst_of_first_uses_is_written_in_a_few_transactions_after_the_replies(engine: AsyncEngine) -> None:
    await Registry(engine).add_agency("lk-a", "Landkreis A", ACTOR)
    access = AccessStore(engine, cache_s=0)
    tokens = [(await access.create_token("agency", "lk-a", None, ACTOR)).token for _ in range(60)]
    writes = statements(engine.sync_engine)
    principals = await asyncio.gather(*(access.authenticate(token) for token in tokens))
    assert all(principal is not None for principal in principals)
    await access.settle()
    updates = [sql for _, sql in writes if sql.startswith("UPDATE api_token")]
    assert 1 <= len(updates) <= 3  # a batch each, not one per call
    async with engine.connect() as conn:
        used = (await conn.execute(select(API_TOKEN.c.last_used_at))).scalars().all()
    assert len(used) == 60 and None not in used
    # within the minute, further calls write nothing
    await asyncio.gather(*(access.authenticate(token) for token in tokens))
    await access.settle()
    assert len([sql for _, sql in writes if sql.startswith("UPDATE api_token")]) == len(updates)


async def test_a_reader_does_not_keep_its_engine_alive(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    await reader(engine).all(text("SELECT 1"))
    await engine.dispose()
    gone = weakref.ref(engine)
    del engine
    gc.collect()
    assert gone() is None

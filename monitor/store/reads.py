"""The API's reads: one statement, all its rows, in one step.

On SQLite, a query through aiosqlite hops to its connection's thread five times (cursor, execute, fetch, close,
rollback), each a wake-up of that thread and then of the event loop, with the threads contending for the GIL in
between; under API load the hops cost more than the query. `Reader.all` runs the whole read (check-out,
execute, fetch, the rows' conversion) as one call in a small thread pool of its own, on synchronous connections
to the same file, so the event loop still never waits for SQLite. Elsewhere (PostgreSQL through asyncpg, which
has no threads; an in-memory SQLite, which one connection holds) it is the async engine's own path.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.engine import ENGINE_OPTIONS, sqlite_connect_args, sqlite_pragmas

READ_THREADS = 2  # more only contend for the GIL: the reads are short and the conversion of rows is Python

_READERS: weakref.WeakKeyDictionary[AsyncEngine, Reader] = weakref.WeakKeyDictionary()


def reader(engine: AsyncEngine) -> Reader:
    """The engine's reader, one per engine (and so one thread pool and one set of read connections)."""
    found = _READERS.get(engine)
    if found is None:
        found = _READERS[engine] = Reader(engine)
    return found


class Reader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = weakref.ref(engine)  # not kept alive by its entry in _READERS
        self._sync: Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._sync = create_engine(
                url.set(drivername="sqlite"),
                pool_size=READ_THREADS,
                max_overflow=0,
                connect_args={**sqlite_connect_args(), "check_same_thread": False},  # a pool's, one thread at a time
                **ENGINE_OPTIONS,
            )
            event.listen(self._sync, "connect", sqlite_pragmas)
            # engine.dispose() closes the read connections too (tests and the CLI dispose, and the file may go)
            event.listen(engine.sync_engine, "engine_disposed", self._dispose)

    async def all(self, statement: Executable, values: Mapping[str, Any] | None = None) -> Sequence[Row[Any]]:
        sync = self._sync
        if sync is None:
            engine = self._engine()
            if engine is None:
                raise RuntimeError("the engine of this reader is gone")
            async with engine.connect() as conn:
                return (await conn.execute(statement, values)).all()

        def read() -> Sequence[Row[Any]]:
            with sync.connect() as conn:
                return conn.execute(statement, values).all()

        if self._threads is None:
            self._threads = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-read")
        return await asyncio.get_running_loop().run_in_executor(self._threads, read)

    async def first(self, statement: Executable, values: Mapping[str, Any] | None = None) -> Row[Any] | None:
        rows = await self.all(statement, values)
        return rows[0] if rows else None

    def _dispose(self, _engine: Engine) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
        if self._sync is not None:
            self._sync.dispose()

"""The async engine: one code path for SQLite (WAL, the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# SQLite: a fixed set of connections (each is a thread of aiosqlite's), as many as the default pool allowed at
# most (5 + 10 overflow), all kept open. With overflow, every burst past 5 opened and closed connections:
# a thread, the connect and the pragmas each time, a third of a request's cost under API load.
SQLITE_POOL_SIZE = 15


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if not parsed.query.get("uri"):  # a "file:…?mode=ro" URI names an existing file: nothing to create
                _private_file(Path(parsed.database))
            engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=SQLITE_POOL_SIZE, max_overflow=0)
        else:  # one connection, shared (StaticPool)
            engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _private_file(path: Path) -> None:
    """Create the database file (and its directory) readable by this user only: it holds a map of every weakness
    of every agency. SQLite gives the -wal and -shm files the same mode. An existing file keeps its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

"""The async engine: one code path for SQLite (WAL, the embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from pydantic_core import from_json
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# SQLite: a fixed set of connections (each is a thread of aiosqlite's), as many as the default pool allowed at
# most (5 + 10 overflow), all kept open. With overflow, every burst past 5 opened and closed connections:
# a thread, the connect and the pragmas each time, a third of a request's cost under API load.
SQLITE_POOL_SIZE = 15


# Every engine: JSON columns parsed by pydantic-core's parser, about 8 times faster than the json module's on the
# small documents stored here (a page of 50 endpoints parses 200 of them). Writing keeps the json module.
ENGINE_OPTIONS: dict[str, Any] = {"json_deserializer": from_json}


def sqlite_connect_args() -> dict[str, Any]:
    return {"timeout": 30}  # seconds a statement waits for another connection's write lock


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if not parsed.query.get("uri"):  # a "file:…?mode=ro" URI names an existing file: nothing to create
                _private_file(Path(parsed.database))
            engine = create_async_engine(
                url,
                connect_args=sqlite_connect_args(),
                pool_size=SQLITE_POOL_SIZE,
                max_overflow=0,
                **ENGINE_OPTIONS,
            )
        else:  # one connection, shared (StaticPool)
            engine = create_async_engine(url, connect_args=sqlite_connect_args(), **ENGINE_OPTIONS)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **ENGINE_OPTIONS)


def _private_file(path: Path) -> None:
    """Create the database file (and its directory) readable by this user only: it holds a map of every weakness
    of every agency. SQLite gives the -wal and -shm files the same mode. An existing file keeps its mode.

    An existing file is never opened here. Closing any descriptor of a file drops every POSIX lock this process
    holds on it, SQLite's included: a second engine in a process that already uses the database (the demo starts
    the daemon beside its own engine) would leave its connections unlocked, and the next `posture` command to
    close its last connection would take itself for the last user and delete the WAL index under them."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY, 0o600))


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

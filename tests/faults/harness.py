"""What the fault tests share: slow real targets, seeding, a daemon's scan history read straight from SQLite."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from monitor.cadence import Cadence
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.tables import CHECK_STATE, SCAN_RUN

# Each reachability run waits this long for a TLS answer that never comes: checks are in flight all the time.
SLOW_CHECKS = '{"reachability": {"connect_timeout_s": 1.5, "timeout_s": 5, "probe_tls": true}}'


@contextlib.contextmanager
def tarpits(count: int) -> Iterator[list[tuple[str, int]]]:
    """`count` listeners on 127.0.1.1, 127.0.1.2 … that complete the TCP handshake (the kernel does) and never
    say a word: a reachability run connects at once, then its TLS probe waits for the connect timeout."""
    listeners = [socket.create_server((f"127.0.1.{n + 1}", 0), backlog=1024) for n in range(count)]
    try:
        yield [(f"127.0.1.{n + 1}", s.getsockname()[1]) for n, s in enumerate(listeners)]
    finally:
        for listener in listeners:
            listener.close()


async def seed(url: str, targets: list[tuple[str, int]], interval_s: float, check: str = "reachability") -> None:
    """Migrate, one agency owning 127.0.0.0/8, one endpoint per target; first runs due at once."""
    engine = make_engine(url)
    registry, actor = Registry(engine), Actor("test")
    try:
        await upgrade(engine)
        await registry.add_agency("lk-faults", "Landkreis Faults", actor)
        await registry.add_scope("lk-faults", "127.0.0.0/8", actor)
        for host, port in targets:
            await registry.add_endpoint(
                "lk-faults", host, port, [check], Cadence(interval_s), actor, intervals={check: interval_s}
            )
        async with engine.begin() as conn:
            for n in range(len(targets)):
                due = datetime.now(UTC) + timedelta(seconds=interval_s * n / len(targets))
                await conn.execute(update(CHECK_STATE).where(CHECK_STATE.c.endpoint_id == n + 1).values(next_due=due))
    finally:
        await engine.dispose()


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def scan_runs(database: Path) -> list[tuple[int, int, datetime]]:
    """(id, endpoint id, start) of every scan run, read by a second process as an operator would."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        rows = conn.execute("SELECT id, endpoint_id, started_at FROM scan_run ORDER BY id").fetchall()
    return [(row[0], row[1], datetime.fromisoformat(row[2]).replace(tzinfo=UTC)) for row in rows]


def leased(database: Path) -> int:
    """Checks claimed and not recorded yet: running, or finished with the result not written."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM check_state WHERE lease_owner IS NOT NULL").fetchone()[0])


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def endpoints_scanned_since(database: Path, since: datetime) -> set[int]:
    return {endpoint for _, endpoint, started in scan_runs(database) if started > since}


async def stored_runs(url: str) -> list[tuple[int, int, datetime]]:
    """`scan_runs` for any database URL (PostgreSQL too), through SQLAlchemy."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(SCAN_RUN.c.id, SCAN_RUN.c.endpoint_id, SCAN_RUN.c.started_at))
            return sorted((row.id, row.endpoint_id, row.started_at) for row in rows)
    finally:
        await engine.dispose()


async def stored_leases(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(CHECK_STATE).where(CHECK_STATE.c.lease_owner.is_not(None))
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def fill(directory: Path, leave: int = 0) -> Path:
    """Write a file until the file system has no byte left but `leave`; delete it to give the space back."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def run_root_tool(*command: str, reason: str) -> None:
    """Run mount/chattr; skip the test (saying why) where this machine does not allow it."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"{reason}: `{' '.join(command)}` failed: {done.stderr.strip()}")


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` read-only for everyone, root too: a read-only bind mount over it."""
    run_root_tool("mount", "--bind", str(directory), str(directory), reason=READ_ONLY_NEEDS)
    try:
        run_root_tool("mount", "-o", "remount,bind,ro", str(directory), reason=READ_ONLY_NEEDS)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


@contextlib.contextmanager
def frozen(*files: Path) -> Iterator[None]:
    """`files` immutable (`chattr +i`): no write reaches them, not even through a descriptor already open."""
    try:
        for path in files:
            run_root_tool("chattr", "+i", str(path), reason="freezing a file needs root and a file system with chattr")
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=False)


READ_ONLY_NEEDS = "a read-only database is simulated with a read-only bind mount, which needs root (CAP_SYS_ADMIN)"

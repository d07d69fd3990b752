"""When the database is unavailable: which errors pass (disk full, read-only file, server restarting, lost
connection), how to say so in one line, and how a loop waits for it without flooding the log."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite primary result codes an operator or time cures; "no such table" and friends are OperationalError too,
# but a bug: retrying it would only hide it.
_SQLITE_PASSING = {
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    10: "SQLITE_IOERR",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
}
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources (disk full), operator intervention
# (shutdown, starting up), system error (I/O).
_PG_PASSING = ("08", "53", "57", "58")
_LOW_SPACE = 1 << 20


def unavailable(err: BaseException) -> bool:
    """True for a database error worth waiting out; False for one that a retry would only repeat (a bug)."""
    if isinstance(err, OSError | PoolTimeout | DisconnectionError):
        return True
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    original = err.orig if isinstance(err, DBAPIError) else err
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_PASSING
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _PG_PASSING
    return isinstance(err, InterfaceError)  # a closed connection without a code


def describe(err: BaseException, url: str | URL | None = None) -> str:
    """One line for the log or the terminal: the database's own words, and for SQLite what the file system says
    (the file that is not writable, the space left), because "disk I/O error" alone does not say what to fix."""
    original = getattr(err, "orig", None) or err
    text = " ".join(str(original).split())[:200] or type(original).__name__
    hint = _sqlite_hint(make_url(url)) if url is not None else None
    return f"{text} ({hint})" if hint else text


def _sqlite_hint(url: URL) -> str | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database)
    for path in (database.parent, database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists() and not os.access(path, os.W_OK):
            return f"{path} is not writable"
    try:
        free = shutil.disk_usage(database.parent).free
    except OSError:
        return None
    return f"{free} bytes free in {database.parent}" if free < _LOW_SPACE else None


class Outage:
    """One loop's view of a database outage: a line when it starts, a line when it ends, growing pauses between.

    `failed(err)` logs the first failure (later ones at DEBUG) and returns how long to wait before the next
    attempt; `recovered()` logs the end of an outage, if there was one.
    """

    def __init__(
        self, log: logging.Logger, doing: str, url: str | URL | None, first_s: float = 0.25, max_s: float = 2.0
    ) -> None:
        self.log, self.doing, self.url = log, doing, url
        self.first_s, self.max_s = first_s, max_s
        self.since: float | None = None
        self._next_s = first_s

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, err: BaseException, consequence: str) -> float:
        if self.since is None:
            self.since = time.monotonic()
            self.log.error(
                "database unavailable while %s: %s; %s, retrying", self.doing, describe(err, self.url), consequence
            )
        else:
            self.log.debug("database still unavailable while %s: %s", self.doing, describe(err, self.url))
        wait, self._next_s = self._next_s, min(self._next_s * 2, self.max_s)
        return wait

    def report(self, err: BaseException, consequence: str) -> float:
        """For a loop that goes on whatever failed: one line for an unavailable database, the traceback for a bug."""
        if unavailable(err):
            return self.failed(err, consequence)
        self.log.error("%s failed; %s", self.doing, consequence, exc_info=err)
        return self.first_s

    def recovered(self) -> None:
        if self.since is not None:
            self.log.warning("database available again for %s after %.1f s", self.doing, time.monotonic() - self.since)
        self.since, self._next_s = None, self.first_s

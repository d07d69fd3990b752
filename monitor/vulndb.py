"""The live vulnerability database: the vuln_* tables loaded into memory for the check that declares `vulndb`.

The check never sees the tables: the daemon loads them (monitor/store/vulndb.py) into the check's in-memory
database and hands that over as `CheckContext.resources["vulndb"]`. When a newer one is loaded, recording
re-judges every stored result of the check (monitor/usecases/rejudging.py) without a scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from checks.base import Check, VulnToolkit
from monitor.store.availability import Outage
from monitor.store.vulndb import VulnStore

log = logging.getLogger(__name__)


def toolkit_of(registry: Mapping[str, type[Check[Any, Any]]]) -> VulnToolkit | None:
    """The vulnerability database toolkit a registered check declares (`Check.vulndb`), or None."""
    return next((check.vulndb for check in registry.values() if check.vulndb is not None), None)


def vulndb_checks(registry: Mapping[str, type[Check[Any, Any]]]) -> list[str]:
    """The checks whose judgement reads the vulnerability database: re-judged when it changes."""
    return [name for name, check in registry.items() if check.vulndb is not None]


async def load_database(store: VulnStore, toolkit: VulnToolkit) -> Any:
    """The database for `CheckContext.resources["vulndb"]`: the store's tables, or the bundled seed while they
    are empty (offline-first: a fresh installation matches against the seed until `posture vulndb update`)."""
    if await store.is_empty():
        log.info("vulnerability tables are empty: using the bundled seed")
        return toolkit.database_from_snapshot(toolkit.feeds_from_dir(toolkit.seed_dir))
    return toolkit.database_from_rows(await store.rows())


def seed_dates(toolkit: VulnToolkit) -> dict[str, datetime]:
    """The age of the bundled seed, for each feed it carries: what /metrics reports as the feeds' last update
    while the tables are empty and the daemon matches against the seed (see load_database). One date for all:
    the oldest that the seed's data states (the KEV catalogue's release, the newest NVD modification)."""
    snapshot = toolkit.feeds_from_dir(toolkit.seed_dir)
    stated = [snapshot.kev.released] if snapshot.kev is not None else []
    stated += [max(record.info.last_modified for record in snapshot.nvd)] if snapshot.nvd else []
    moments = [datetime.fromisoformat(text) for text in stated if text]
    if not moments:
        return {}
    oldest = min(moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in moments)
    return {source.source: oldest for source in snapshot.sources()}


class LiveVulnDb:
    """The database the daemon hands to checks, kept current.

    `resources` is the mapping to pass as `CheckContext.resources` (the same dict object for every context);
    `refresh()` reloads the tables when `vuln_source` changed (another replica or `posture vulndb update` wrote
    them) and swaps the entry, then awaits `on_change(new_db)`, e.g. re-judging and recording every endpoint.
    """

    def __init__(
        self,
        store: VulnStore,
        toolkit: VulnToolkit,
        resources: dict[str, Any] | None = None,
        on_change: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.toolkit = toolkit
        self.on_change = on_change
        self.resources: dict[str, Any] = resources if resources is not None else {}
        self._stamp: tuple[tuple[Any, ...], ...] | None = None

    async def refresh(self) -> bool:
        """Load the database if its sources changed since the last call; True when a new one was loaded."""
        stamp = tuple(tuple(row.values()) for row in await self.store.sources())
        if stamp == self._stamp and "vulndb" in self.resources:
            return False
        database = await load_database(self.store, self.toolkit)
        self.resources["vulndb"] = database
        first = self._stamp is None
        self._stamp = stamp
        if self.on_change is not None and not first:
            await self.on_change(database)
        return True

    async def run(self, stop: asyncio.Event, every_s: float) -> None:
        """Refresh every `every_s` seconds until `stop` is set; a failed refresh keeps the current database."""
        outage = Outage(log, "refreshing the vulnerability database", self.store.engine.url)
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as err:
                outage.report(err, "keeping the loaded one")
            else:
                outage.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)

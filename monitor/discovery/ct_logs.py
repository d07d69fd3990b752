"""The "ct" source as the daemon runs it: every configured log read from its stored cursor, for the names inside any
agency's domain scope. A log that fails is logged and skipped, its cursor kept; the new cursors are stored only after
the use case has stored what was read (`commit`), so a crash in between reads the same entries again."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import aiohttp

from monitor.discovery.ct import CtCursor, CtLog, CtLogError, read_log
from monitor.discovery.ct_parse import Wanted
from monitor.discovery.models import Sighting
from monitor.errors import InvalidInput
from monitor.scope import ScopeEntry
from monitor.store.discovery_store import DiscoveryStore

log = logging.getLogger(__name__)

MAX_ENTRIES_PER_RUN = 10_000  # per log and run: a failure late in a read repeats at most this much
BATCH = 256  # entries per get-entries request: what real logs answer at most


def in_domains(scopes: Mapping[str, Sequence[ScopeEntry]]) -> set[str]:
    """Every agency's domain scopes, for the fast suffix test a log's names are read with."""
    return {entry.value for entries in scopes.values() for entry in entries if entry.kind == "domain"}


def under_any(suffixes: set[str]) -> Wanted:
    def wanted(name: str) -> bool:
        labels = name.split(".")
        return any(".".join(labels[i:]) in suffixes for i in range(len(labels)))

    return wanted


class CtLogs:
    def __init__(
        self,
        store: DiscoveryStore,
        logs: Sequence[CtLog],
        backlog: int = 0,
        max_entries: int = MAX_ENTRIES_PER_RUN,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.logs = tuple(logs)
        self.backlog = backlog
        self.max_entries = max_entries
        self.batch = batch
        self._read: dict[str, CtCursor] = {}

    async def __call__(self, scopes: Mapping[str, Sequence[ScopeEntry]]) -> list[Sighting]:
        """The wanted names of every log's new entries; the cursors wait for `commit`."""
        self._read = {}
        suffixes = in_domains(scopes)
        if not suffixes or not self.logs:
            return []
        wanted = under_any(suffixes)
        found: list[Sighting] = []
        async with aiohttp.ClientSession(auto_decompress=True) as session:
            for ct_log in self.logs:
                stored = await self.store.ct_cursor(ct_log.url)
                try:
                    cursor = None if stored is None else CtCursor.from_json(stored)
                    read = await read_log(
                        session, ct_log, cursor, wanted,
                        max_entries=self.max_entries, batch=self.batch, backlog=self.backlog,
                    )  # fmt: skip
                except (CtLogError, InvalidInput) as err:
                    log.warning("CT log %s skipped, its cursor kept: %s", ct_log.url, err)
                    await self.store.save_ct_cursor(ct_log.url, None, str(err))
                    continue
                if read.entries_skipped:
                    log.info(
                        "CT log %s: %d entries not decodable (%s)",
                        ct_log.url, read.entries_skipped, "; ".join(read.skip_reasons),
                    )  # fmt: skip
                found.extend(read.sightings)
                self._read[ct_log.url] = read.cursor
        return found

    async def commit(self) -> None:
        """Store how far each log was read, once what it named is stored."""
        for url, cursor in self._read.items():
            await self.store.save_ct_cursor(url, cursor.as_dict(), None)
        self._read = {}

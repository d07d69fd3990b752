"""The Store: built once at start-up, it owns the engine and the clock, and hands out one of each reader and writer.
The interfaces and the use cases hold a Store, never an engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cadence import Cadence
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.findings import UNREACHABLE_AFTER
from monitor.store.access_store import CACHE_SECONDS, AccessStore
from monitor.store.contact_store import ContactStore
from monitor.store.discovery_store import DiscoveryStore
from monitor.store.endpoint_store import EndpointStore
from monitor.store.engine import make_engine
from monitor.store.facts import StoredFacts, stored_facts
from monitor.store.finding_queries import FindingQueries
from monitor.store.history import History
from monitor.store.leader import Job, lead, once_as_leader
from monitor.store.outbox_store import OutboxStore
from monitor.store.registry import Registry
from monitor.store.report_queries import ReportQueries
from monitor.store.report_store import ReportStore
from monitor.store.schema import ensure_current, upgrade
from monitor.store.scope_requests import ScopeStore
from monitor.store.snapshot import Snapshot, load_snapshot
from monitor.store.vulndb import VulnStore
from monitor.store.work import WorkQueue


class Store:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock = SYSTEM_CLOCK,
        token_cache_s: float = CACHE_SECONDS,
        unreachable_after: int = UNREACHABLE_AFTER,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._token_cache_s = token_cache_s
        self._unreachable_after = unreachable_after  # POSTURE_UNREACHABLE_AFTER: when an endpoint reads unreachable

    @classmethod
    def open(cls, database_url: str, clock: Clock = SYSTEM_CLOCK, unreachable_after: int = UNREACHABLE_AFTER) -> Store:
        return cls(make_engine(database_url), clock, unreachable_after=unreachable_after)

    async def ensure_current(self) -> None:
        """Refuse to work on a schema older than this version's (SchemaOutdated says to upgrade)."""
        await ensure_current(self.engine)

    async def upgrade(self) -> tuple[str | None, str]:
        """Migrate the schema to this version's; returns (revision before, revision after)."""
        return await upgrade(self.engine)

    @property
    def url(self) -> URL:
        """The database's URL (for messages: `monitor.store.availability.describe` hides the password)."""
        return self.engine.url

    async def lead(self, name: str, job: Job, stop: asyncio.Event) -> None:
        """Run `job` while this instance holds the leadership of `name` (one replica at a time)."""
        await lead(self.engine, name, job, stop)

    async def once_as_leader(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Run `job` once if no other replica is running it; False when one is."""
        return await once_as_leader(self.engine, name, job)

    async def close(self) -> None:
        await self.engine.dispose()

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.engine, self.clock)

    @cached_property
    def discovery(self) -> DiscoveryStore:
        return DiscoveryStore(self.engine, self.clock)

    @cached_property
    def endpoints(self) -> EndpointStore:
        return EndpointStore(self.engine, self.clock, self._unreachable_after)

    @cached_property
    def findings(self) -> FindingQueries:
        return FindingQueries(self.engine, self.clock)

    @cached_property
    def access(self) -> AccessStore:
        return AccessStore(self.engine, self._token_cache_s, self.clock)

    @cached_property
    def scopes(self) -> ScopeStore:
        return ScopeStore(self.engine, self.clock)

    @cached_property
    def history(self) -> History:
        return History(self.engine, self.clock)

    @cached_property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.engine, self.clock)

    @cached_property
    def contacts(self) -> ContactStore:
        return ContactStore(self.engine, self.clock)

    @cached_property
    def reports(self) -> ReportStore:
        """The report archive and the deliveries."""
        return ReportStore(self.engine, self.clock)

    @cached_property
    def report_data(self) -> ReportQueries:
        """What a report says: the findings history read for one agency and week."""
        return ReportQueries(self.engine, self.clock)

    @cached_property
    def vulndb(self) -> VulnStore:
        return VulnStore(self.engine, self.clock)

    def work_queue(self, owner: str, cadence: Cadence, lease_s: float) -> WorkQueue:
        return WorkQueue(self.engine, owner, cadence, lease_s, self.clock)

    async def facts(
        self, check: str, names: Sequence[str], endpoint_ids: Iterable[int] | None = None, agency: str | None = None
    ) -> list[StoredFacts]:
        return await stored_facts(self.engine, check, names, endpoint_ids, agency)

    async def snapshot(self, findings_of: Sequence[str] = ()) -> Snapshot:
        return await load_snapshot(self.engine, findings_of, self.clock)

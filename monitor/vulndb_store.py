"""The vulnerability database in the store: transactional updates, loading into memory, re-judging.

The patch check never sees these tables: the daemon loads them into a `MemoryVulnDb` (through
`VulnStore.load()`) and hands that to the check as `CheckContext.resources["vulndb"]`. After an update,
`rejudge_stored()` re-matches every stored ports fingerprint at once and returns one CheckResult per endpoint,
which the recording path turns into findings and alerts like the result of a scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from checks.base import Check, CheckConfig, CheckContext
from monitor.errors import InvalidInput
from monitor.models import CheckResult, CheckStatus
from monitor.runner import judge, make_result
from monitor.store.availability import Outage
from monitor.store.tables import (
    AGENCY,
    ENDPOINT,
    LATEST,
    VULN_CPE_MATCH,
    VULN_CVE,
    VULN_EOL_CYCLE,
    VULN_EOL_PRODUCT,
    VULN_KEV,
    VULN_SOURCE,
)

log = logging.getLogger(__name__)

_BATCH = 500


class VulnToolkit(Protocol):
    """What the patch check's class offers the daemon beyond the check contract (see checks/patches/toolkit.py)."""

    name: ClassVar[str]
    seed_dir: ClassVar[Path]

    @staticmethod
    def feeds_from_dir(folder: Path) -> Any: ...

    @staticmethod
    def database_from_snapshot(snapshot: Any) -> Any: ...

    @staticmethod
    def database_from_rows(rows: Any) -> Any: ...

    @staticmethod
    def lookup(db: Any, text: str, today: date) -> list[dict[str, Any]]: ...


def toolkit_of(registry: Mapping[str, type[Check[Any, Any]]]) -> VulnToolkit | None:
    """The registered check that carries the vulndb toolkit (the patch check), or None when none does."""
    for check in registry.values():
        if all(hasattr(check, name) for name in ("feeds_from_dir", "database_from_rows", "lookup", "seed_dir")):
            return cast(VulnToolkit, check)
    return None


async def load_database(engine: AsyncEngine, toolkit: VulnToolkit) -> Any:
    """The database for `CheckContext.resources["vulndb"]`: the store's tables, or the bundled seed while they
    are empty (offline-first: a fresh installation matches against the seed until `posture vulndb update`)."""
    store = VulnStore(engine)
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


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    kev: int | None
    nvd: int | None
    eol: int | None
    seconds: float

    def line(self) -> str:
        parts = [f"{name} {count}" for name, count in (("kev", self.kev), ("nvd", self.nvd), ("eol", self.eol))]
        return "vulndb updated: " + ", ".join(p for p in parts if not p.endswith("None")) + f" ({self.seconds:.1f} s)"


class VulnStore:
    """Reads and writes the vuln_* tables. `snapshot` arguments are `checks.patches.snapshot.Snapshot`s."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, snapshot: Any, now: datetime | None = None) -> UpdateSummary:
        """Write every feed present in `snapshot` in ONE transaction: all of it lands, or none of it.

        KEV and EOL replace what is stored (per EOL product); NVD records replace the stored version of each CVE
        they name and leave the others, so an incremental NVD download adds to the database.
        """
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        async with self.engine.begin() as conn:
            if snapshot.kev is not None:
                await conn.execute(delete(VULN_KEV))
                await _insert(conn, VULN_KEV, ({**asdict(e), "cve_id": e.cve} for e in snapshot.kev.entries))
            if snapshot.nvd is not None:
                await self._save_nvd(conn, snapshot.nvd)
            if snapshot.eol is not None:
                names = [e.product.product for e in snapshot.eol]
                for chunk in _chunks(names):
                    await conn.execute(delete(VULN_EOL_CYCLE).where(VULN_EOL_CYCLE.c.product.in_(chunk)))
                    await conn.execute(delete(VULN_EOL_PRODUCT).where(VULN_EOL_PRODUCT.c.product.in_(chunk)))
                await _insert(
                    conn,
                    VULN_EOL_PRODUCT,
                    (
                        {"product": e.product.product, "title": e.product.title, "cpes": list(e.product.cpes)}
                        for e in snapshot.eol
                    ),
                )
                await _insert(conn, VULN_EOL_CYCLE, (asdict(c) for e in snapshot.eol for c in e.cycles))
            for source in snapshot.sources():
                version = source.version
                if source.source == "nvd":  # an empty incremental download must not lose the position
                    stored = await conn.execute(select(VULN_SOURCE.c.version).where(VULN_SOURCE.c.source == "nvd"))
                    version = max(version, stored.scalar() or "")
                await conn.execute(delete(VULN_SOURCE).where(VULN_SOURCE.c.source == source.source))
                await conn.execute(
                    insert(VULN_SOURCE).values(
                        source=source.source,
                        version=version[:100],
                        origin=source.origin[:500],
                        records=await _count(conn, source.source),
                        updated_at=now,
                    )
                )
        return UpdateSummary(
            len(snapshot.kev.entries) if snapshot.kev is not None else None,
            len(snapshot.nvd) if snapshot.nvd is not None else None,
            sum(len(e.cycles) for e in snapshot.eol) if snapshot.eol is not None else None,
            time.perf_counter() - started,
        )

    async def _save_nvd(self, conn: AsyncConnection, records: Sequence[Any]) -> None:
        latest: dict[str, Any] = {}
        for record in records:  # the same CVE twice in one download: keep the newest version
            known = latest.get(record.info.cve)
            if known is None or record.info.last_modified >= known.info.last_modified:
                latest[record.info.cve] = record
        ids = list(latest)
        for chunk in _chunks(ids):
            await conn.execute(delete(VULN_CPE_MATCH).where(VULN_CPE_MATCH.c.cve_id.in_(chunk)))
            await conn.execute(delete(VULN_CVE).where(VULN_CVE.c.cve_id.in_(chunk)))
        await _insert(
            conn, VULN_CVE, ({**_without(asdict(r.info), "cve"), "cve_id": r.info.cve} for r in latest.values())
        )
        await _insert(
            conn,
            VULN_CPE_MATCH,
            ({**_without(asdict(c), "cve"), "cve_id": c.cve} for r in latest.values() for c in r.criteria),
        )

    async def is_empty(self) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(VULN_SOURCE.c.source).limit(1))).first() is None

    async def sources(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(VULN_SOURCE).order_by(VULN_SOURCE.c.source))
            return [dict(row._mapping) for row in rows]

    async def rows(self) -> StoredRows:
        """The vuln_* tables as plain rows (the toolkit's `database_from_rows` indexes them)."""
        async with self.engine.connect() as conn:
            cves = [dict(r._mapping) for r in await conn.execute(select(VULN_CVE))]
            criteria = [dict(r._mapping) for r in await conn.execute(select(VULN_CPE_MATCH))]
            kev = [dict(r._mapping) for r in await conn.execute(select(VULN_KEV))]
            products = [dict(r._mapping) for r in await conn.execute(select(VULN_EOL_PRODUCT))]
            cycles = [dict(r._mapping) for r in await conn.execute(select(VULN_EOL_CYCLE))]
            sources = [dict(r._mapping) for r in await conn.execute(select(VULN_SOURCE))]
        return StoredRows(cves, criteria, kev, products, cycles, sources)


async def _count(conn: AsyncConnection, source: str) -> int:
    table = {"kev": VULN_KEV, "nvd": VULN_CVE, "eol": VULN_EOL_CYCLE}[source]
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@dataclass(frozen=True, slots=True)
class StoredRows:
    """The vuln_* tables as plain rows; the toolkit's `database_from_rows` turns them into the in-memory index."""

    cves: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    kev: list[dict[str, Any]]
    eol_products: list[dict[str, Any]]
    eol_cycles: list[dict[str, Any]]
    sources: list[dict[str, Any]]


async def rejudge_stored(
    engine: AsyncEngine,
    check: Check[Any, Any],
    config: CheckConfig,
    vulndb: Any,
    now: datetime | None = None,
    endpoint_ids: Iterable[int] | None = None,
) -> list[CheckResult[Any]]:
    """Re-judge every endpoint that runs `check` and has stored ports details, without scanning.

    `check` is the patch check instance (from the registry); `vulndb` the freshly loaded database. For each
    endpoint the stored ports details are the peer details and the check's own stored details (banner reads)
    are kept; the result is an OK CheckResult whose observations reflect the new database. Endpoint-specific
    settings of the check are applied as in a scan.
    """
    from monitor.settings import INVALID_SETTINGS, endpoint_config

    now = now or datetime.now(UTC)
    peers = type(check).depends_on
    started = time.perf_counter()
    wanted = set(endpoint_ids) if endpoint_ids is not None else None
    async with engine.connect() as conn:
        endpoints = {
            row.id: row
            for row in await conn.execute(
                select(ENDPOINT.c.id, ENDPOINT.c.checks, ENDPOINT.c.check_settings)
                .add_columns(AGENCY.c.check_settings.label("agency_settings"))
                .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
            )
            if check.name in (row.checks or ()) and (wanted is None or row.id in wanted)
        }
        rows = await conn.execute(
            select(LATEST.c.endpoint_id, LATEST.c.check, LATEST.c.details).where(
                LATEST.c.check.in_((*peers, check.name)), LATEST.c.details.is_not(None)
            )
        )
        stored: dict[int, dict[str, Mapping[str, Any]]] = {}
        for row in rows:
            if row.endpoint_id in endpoints:
                stored.setdefault(row.endpoint_id, {})[row.check] = row.details
    results: list[CheckResult[Any]] = []
    empty = type(check).details_model()
    resources = {"vulndb": vulndb}
    for endpoint_id, facts in sorted(stored.items()):
        if not all(peer in facts for peer in peers):
            continue  # nothing to re-judge before the facts it stands on exist
        clock = time.perf_counter()
        try:
            details = type(check).details_model.model_validate(facts[check.name]) if check.name in facts else empty
        except ValidationError:
            details = empty  # its own details stored by an older schema: judge the peers' facts alone
        settings = endpoints[endpoint_id].check_settings or {}
        agency_settings = endpoints[endpoint_id].agency_settings or {}
        try:
            cfg = endpoint_config(config, settings.get(check.name), agency=agency_settings.get(check.name))
        except InvalidInput as err:  # refused as the scheduler refuses it
            results.append(make_result(check, endpoint_id, now, clock, CheckStatus.MISCONFIGURED,
                                       error=f"{INVALID_SETTINGS}: {err}"))  # fmt: skip
            continue
        ctx = CheckContext(now=now, peer_details={peer: facts[peer] for peer in peers}, resources=resources)
        results.append(judge(check, endpoint_id, details, cfg, ctx, now, clock))
    log.info("re-judged %d endpoints in %.2f s", len(results), time.perf_counter() - started)
    return results


async def _insert(conn: AsyncConnection, table: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    batch: list[Mapping[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            await conn.execute(insert(table), batch)
            batch = []
    if batch:
        await conn.execute(insert(table), batch)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


class LiveVulnDb:
    """The database the daemon hands to checks, kept current.

    `resources` is the mapping to pass as `CheckContext.resources` (the same dict object for every context);
    `refresh()` reloads the tables when `vuln_source` changed (another replica or `posture vulndb update` wrote
    them) and swaps the entry, then awaits `on_change(new_db)`, e.g. re-judging and recording every endpoint.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        toolkit: VulnToolkit,
        on_change: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.toolkit = toolkit
        self.on_change = on_change
        self.resources: dict[str, Any] = {}
        self._stamp: tuple[tuple[Any, ...], ...] | None = None

    async def refresh(self) -> bool:
        """Load the database if its sources changed since the last call; True when a new one was loaded."""
        stamp = tuple(tuple(row.values()) for row in await VulnStore(self.engine).sources())
        if stamp == self._stamp and "vulndb" in self.resources:
            return False
        database = await load_database(self.engine, self.toolkit)
        self.resources["vulndb"] = database
        first = self._stamp is None
        self._stamp = stamp
        if self.on_change is not None and not first:
            await self.on_change(database)
        return True

    async def run(self, stop: asyncio.Event, every_s: float) -> None:
        """Refresh every `every_s` seconds until `stop` is set; a failed refresh keeps the current database."""
        outage = Outage(log, "refreshing the vulnerability database", self.engine.url)
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as err:
                outage.report(err, "keeping the loaded one")
            else:
                outage.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)

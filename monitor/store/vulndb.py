"""The vuln_* tables: KEV, NVD CVE records and CPE ranges, end-of-life cycles, and where each feed came from.

SQL only: the daemon loads these rows into the patch check's in-memory database (monitor/vulndb.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.store.tables import (
    VULN_CPE_MATCH,
    VULN_CVE,
    VULN_EOL_CYCLE,
    VULN_EOL_PRODUCT,
    VULN_KEV,
    VULN_SOURCE,
)

_BATCH = 500


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

    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def save(self, snapshot: Any, now: datetime | None = None) -> UpdateSummary:
        """Write every feed present in `snapshot` in ONE transaction: all of it lands, or none of it.

        KEV and EOL replace what is stored (per EOL product); NVD records replace the stored version of each CVE
        they name and leave the others, so an incremental NVD download adds to the database.
        """
        started = self.clock.monotonic()
        now = now or self.clock.now()
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
            self.clock.monotonic() - started,
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

"""Reading what happened: scan runs and alert events, newest after a cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.models import asset_name
from monitor.store.tables import ENDPOINT, OUTBOX, SCAN_RUN


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    endpoint: str
    check: str
    status: str
    started_at: datetime
    duration_s: float
    observation_count: int
    error: str | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    type: str
    agency: str
    data: dict[str, Any]


class History:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def cursors(self) -> tuple[int, int]:
        """The newest scan run and event ids now: a feed that starts here shows only what comes next."""
        async with self.engine.connect() as conn:
            runs = (await conn.execute(select(func.max(SCAN_RUN.c.id)))).scalar()
            events = (await conn.execute(select(func.max(OUTBOX.c.id)))).scalar()
        return int(runs or 0), int(events or 0)

    async def prune(self, older_than: datetime, batch: int = 10_000) -> int:
        """Delete scan runs that started before `older_than`, in batches so that no transaction grows large."""
        removed = 0
        while True:
            async with self.engine.begin() as conn:
                oldest = select(SCAN_RUN.c.id).where(SCAN_RUN.c.started_at < older_than).limit(batch)
                result = await conn.execute(delete(SCAN_RUN).where(SCAN_RUN.c.id.in_(oldest)))
            removed += int(result.rowcount)
            if result.rowcount < batch:
                return removed

    async def runs_after(self, cursor: int, limit: int = 200) -> list[RunRecord]:
        query = (
            select(SCAN_RUN, ENDPOINT.c.host, ENDPOINT.c.port)
            .join(ENDPOINT, ENDPOINT.c.id == SCAN_RUN.c.endpoint_id)
            .where(SCAN_RUN.c.id > cursor)
            .order_by(SCAN_RUN.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [
                RunRecord(
                    row.id,
                    asset_name(row.host, row.port),
                    row.check,
                    row.status,
                    row.started_at,
                    row.duration_s,
                    row.observation_count,
                    row.error,
                )
                for row in await conn.execute(query)
            ]

    async def events_after(self, cursor: int, limit: int = 200) -> list[EventRecord]:
        query = select(OUTBOX).where(OUTBOX.c.id > cursor).order_by(OUTBOX.c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [EventRecord(row.id, row.type, row.agency, row.data) for row in await conn.execute(query)]

"""The outbox seen from the publisher: pending rows in order, marking sent, endpoint summaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.alert_format import OutboxEvent
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.models import Severity, asset_name
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, FINDING, LATEST, OUTBOX


class OutboxStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def pending(self, limit: int) -> list[OutboxEvent]:
        """Unsent rows, oldest first: per endpoint in the order they were written."""
        query = select(OUTBOX).where(OUTBOX.c.sent_at.is_(None)).order_by(OUTBOX.c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [
                OutboxEvent(
                    row.id,
                    row.event_id,
                    row.type,
                    row.agency,
                    row.endpoint_id,
                    Severity(row.severity).label,
                    row.created_at,
                    row.data,
                )
                for row in await conn.execute(query)
            ]

    async def mark_sent(self, row_ids: Sequence[int], failed_ids: Sequence[int] = ()) -> None:
        async with self.engine.begin() as conn:
            if row_ids:
                await conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(row_ids)).values(sent_at=self.clock.now()))
            if failed_ids:
                await conn.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(failed_ids)).values(attempts=OUTBOX.c.attempts + 1)
                )

    async def count_pending(self) -> int:
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None))
            return int((await conn.execute(query)).scalar_one())

    async def endpoint_states(self, endpoint_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The retained per-endpoint summary: open findings by severity, last scan, TLS grade."""
        if not endpoint_ids:
            return []
        async with self.engine.connect() as conn:
            endpoints = {
                row.id: row
                for row in await conn.execute(
                    select(ENDPOINT.c.id, ENDPOINT.c.host, ENDPOINT.c.port, AGENCY.c.slug)
                    .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                    .where(ENDPOINT.c.id.in_(endpoint_ids))
                )
            }
            counts = await conn.execute(
                select(FINDING.c.endpoint_id, FINDING.c.severity, func.count())
                .where(FINDING.c.endpoint_id.in_(endpoint_ids), FINDING.c.state == "open")
                .group_by(FINDING.c.endpoint_id, FINDING.c.severity)
            )
            last_runs: dict[int, datetime | None] = dict(
                (
                    await conn.execute(
                        select(CHECK_STATE.c.endpoint_id, func.max(CHECK_STATE.c.last_run_at))
                        .where(CHECK_STATE.c.endpoint_id.in_(endpoint_ids))
                        .group_by(CHECK_STATE.c.endpoint_id)
                    )
                ).all()
            )
            grades: dict[int, dict[str, Any] | None] = dict(
                (
                    await conn.execute(
                        select(LATEST.c.endpoint_id, LATEST.c.details).where(
                            LATEST.c.endpoint_id.in_(endpoint_ids), LATEST.c.check == "tls"
                        )
                    )
                ).all()
            )
        open_findings: dict[int, dict[str, int]] = {
            endpoint_id: {severity.label: 0 for severity in Severity} for endpoint_id in endpoints
        }
        for endpoint_id, severity, count in counts:
            open_findings[endpoint_id][Severity(severity).label] = count
        return [
            {
                "agency": row.slug,
                "endpoint_id": endpoint_id,
                "endpoint": asset_name(row.host, row.port),
                "open_findings": open_findings[endpoint_id],
                "last_scan": last.isoformat() if (last := last_runs.get(endpoint_id)) else None,
                "grade": (grades.get(endpoint_id) or {}).get("grade"),
            }
            for endpoint_id, row in endpoints.items()
        ]

"""What the weekly reports read: agencies, their assets, their findings, the finding events and the scan runs of a
time span. SQL only; the rules (what was open when, scores) are in monitor/usecases/reports.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.findings import TARGET_FAILURES
from monitor.models import EventType
from monitor.store.tables import AGENCY, ENDPOINT, FINDING, OUTBOX, SCAN_RUN

# the events that open or close a finding, or raise its severity: the history the trend and the changes read
HISTORY_EVENTS = (
    EventType.FINDING_OPENED.value,
    EventType.FINDING_RESOLVED.value,
    EventType.FINDING_ESCALATED.value,
    EventType.FINDING_FLAPPING.value,
)


@dataclass(frozen=True, slots=True)
class AgencyRow:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class AssetRow:
    endpoint_id: int
    agency: str
    host: str
    port: int
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: int
    agency: str
    endpoint_id: int
    check: str
    key: str
    severity: int
    title: str
    detail: dict[str, Any]
    remediation: str
    is_open: bool
    kev: bool
    first_seen: datetime
    resolved_at: datetime | None
    resolution: str | None
    due_at: datetime | None
    accepted_until: datetime | None


@dataclass(frozen=True, slots=True)
class EventRow:
    endpoint_id: int
    key: str
    type: str
    at: datetime
    severity: int


@dataclass(frozen=True, slots=True)
class FailedRuns:
    endpoint_id: int
    failed: int  # runs that could not reach the target
    succeeded: int  # runs that could
    last_error: str | None
    last_failed_at: datetime | None
    last_succeeded_at: datetime | None


class ReportQueries:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def agency(self, slug: str) -> AgencyRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(AGENCY.c.id, AGENCY.c.slug, AGENCY.c.name).where(AGENCY.c.slug == slug))
            ).first()
        return AgencyRow(row.id, row.slug, row.name) if row else None

    async def agencies(self) -> list[AgencyRow]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(AGENCY.c.id, AGENCY.c.slug, AGENCY.c.name).order_by(AGENCY.c.slug))
            return [AgencyRow(row.id, row.slug, row.name) for row in rows]

    async def assets(self, agency_id: int | None = None) -> list[AssetRow]:
        query = select(ENDPOINT.c.id, AGENCY.c.slug, ENDPOINT.c.host, ENDPOINT.c.port, ENDPOINT.c.checks).join(
            AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id
        )
        if agency_id is not None:
            query = query.where(ENDPOINT.c.agency_id == agency_id)
        async with self.engine.connect() as conn:
            return [
                AssetRow(row.id, row.slug, row.host, row.port, tuple(row.checks or ()))
                for row in await conn.execute(query.order_by(ENDPOINT.c.host, ENDPOINT.c.port))
            ]

    async def findings(self, first_seen_before: datetime, agency_id: int | None = None) -> list[FindingRow]:
        """Every finding that existed before `first_seen_before` (open or not) of one agency or all."""
        query = (
            select(FINDING, AGENCY.c.slug)
            .join(ENDPOINT, ENDPOINT.c.id == FINDING.c.endpoint_id)
            .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
            .where(FINDING.c.first_seen < first_seen_before)
        )
        if agency_id is not None:
            query = query.where(ENDPOINT.c.agency_id == agency_id)
        async with self.engine.connect() as conn:
            return [
                FindingRow(
                    row.id,
                    row.slug,
                    row.endpoint_id,
                    row.check,
                    row.key,
                    row.severity,
                    row.title,
                    row.detail or {},
                    row.remediation,
                    row.state == "open",
                    bool(row.kev),
                    row.first_seen,
                    row.resolved_at,
                    row.resolution,
                    row.due_at,
                    row.accepted_until,
                )
                for row in await conn.execute(query.order_by(FINDING.c.id))
            ]

    async def events(self, since: datetime, until: datetime, agency: str | None = None) -> list[EventRow]:
        """The opened, resolved, escalated and flapping events queued in [since, until), oldest first."""
        query = select(
            OUTBOX.c.endpoint_id, OUTBOX.c.data, OUTBOX.c.type, OUTBOX.c.created_at, OUTBOX.c.severity
        ).where(OUTBOX.c.type.in_(HISTORY_EVENTS), OUTBOX.c.created_at >= since, OUTBOX.c.created_at < until)
        if agency is not None:
            query = query.where(OUTBOX.c.agency == agency)
        async with self.engine.connect() as conn:
            return [
                EventRow(row.endpoint_id, str((row.data or {}).get("key", "")), row.type, row.created_at, row.severity)
                for row in await conn.execute(query.order_by(OUTBOX.c.id))
            ]

    async def failed_runs(self, since: datetime, until: datetime, endpoint_ids: Sequence[int]) -> list[FailedRuns]:
        """Per endpoint with any run in [since, until): runs that reached the target and runs that could not."""
        if not endpoint_ids:
            return []
        failure = SCAN_RUN.c.status.in_([status.value for status in TARGET_FAILURES])
        query = (
            select(
                SCAN_RUN.c.endpoint_id,
                func.sum(case((failure, 1), else_=0)),
                func.sum(case((failure, 0), else_=1)),
                func.max(case((failure, SCAN_RUN.c.error), else_=None)),
                func.max(case((failure, SCAN_RUN.c.started_at), else_=None)),
                func.max(case((failure, None), else_=SCAN_RUN.c.started_at)),
            )
            .where(
                and_(SCAN_RUN.c.started_at >= since, SCAN_RUN.c.started_at < until),
                SCAN_RUN.c.endpoint_id.in_(endpoint_ids),
            )
            .group_by(SCAN_RUN.c.endpoint_id)
        )
        async with self.engine.connect() as conn:
            return [
                FailedRuns(endpoint_id, int(failed or 0), int(succeeded or 0), error, _utc(failed_at), _utc(ok_at))
                for endpoint_id, failed, succeeded, error, failed_at, ok_at in await conn.execute(query)
            ]


def _utc(moment: datetime | str | None) -> datetime | None:
    """An aggregate loses the column's type on SQLite (a string comes back): read it as UTC again."""
    if moment is None:
        return None
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

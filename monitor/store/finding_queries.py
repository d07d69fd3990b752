"""Findings as agencies and analysts see them: filtered pages, detail with history, accepted risks, CSV rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import InvalidInput, NotFound
from monitor.store.audit import Actor, write_audit
from monitor.store.reads import reader
from monitor.store.registry import Registry
from monitor.store.tables import AGENCY, ENDPOINT, FINDING, SCAN_RUN

FINDING_STATES = ("open", "resolved", "accepted")


def accepted_at(now: datetime) -> ColumnElement[bool]:
    """Open with an accepted, unexpired risk: muted, and not open for alerting or the open counts."""
    return and_(FINDING.c.state == "open", FINDING.c.accepted_until > now)


def open_at(now: datetime) -> ColumnElement[bool]:
    """Open and not an accepted risk: what the API, the UI and /metrics call open."""
    return and_(FINDING.c.state == "open", or_(FINDING.c.accepted_until.is_(None), FINDING.c.accepted_until <= now))


@dataclass(frozen=True, slots=True)
class FindingView:
    id: int
    agency: str
    endpoint_id: int
    host: str
    port: int
    check: str
    key: str
    severity: int
    title: str
    detail: dict[str, Any]
    remediation: str
    state: str
    kev: bool
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolution: str | None
    due_at: datetime | None
    accepted_until: datetime | None
    accepted_reason: str | None
    accepted_by: str | None
    flapping: bool
    accepted: bool  # a risk accepted until a time still ahead when the row was read
    labels: dict[str, str]  # the endpoint's labels


@dataclass(frozen=True, slots=True)
class RunView:
    started_at: datetime
    status: str
    duration_s: float
    observation_count: int
    error: str | None


@dataclass(frozen=True, slots=True)
class FindingFilter:
    agency_id: int | None = None  # the caller's agency: None only for admins and analysts
    agency: str | None = None
    endpoint_id: int | None = None
    severity: int | None = None  # at least this severity
    check: str | None = None
    key: str | None = None
    state: str | None = None  # open | resolved | accepted


def _query(flt: FindingFilter, now: datetime) -> Select[Any]:
    query = (
        select(FINDING, ENDPOINT.c.host, ENDPOINT.c.port, ENDPOINT.c.labels, AGENCY.c.slug)
        .join(ENDPOINT, ENDPOINT.c.id == FINDING.c.endpoint_id)
        .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
    )
    if flt.agency_id is not None:
        query = query.where(ENDPOINT.c.agency_id == flt.agency_id)
    if flt.agency is not None:
        query = query.where(AGENCY.c.slug == flt.agency)
    if flt.endpoint_id is not None:
        query = query.where(FINDING.c.endpoint_id == flt.endpoint_id)
    if flt.severity is not None:
        query = query.where(FINDING.c.severity >= flt.severity)
    if flt.check is not None:
        query = query.where(FINDING.c.check == flt.check)
    if flt.key is not None:
        query = query.where(FINDING.c.key == flt.key)
    if flt.state == "accepted":
        query = query.where(accepted_at(now))
    elif flt.state == "open":
        query = query.where(open_at(now))
    elif flt.state == "resolved":
        query = query.where(FINDING.c.state == "resolved")
    return query


def _view(row: Any, now: datetime) -> FindingView:
    return FindingView(
        id=row.id,
        agency=row.slug,
        endpoint_id=row.endpoint_id,
        host=row.host,
        port=row.port,
        check=row.check,
        key=row.key,
        severity=row.severity,
        title=row.title,
        detail=row.detail,
        remediation=row.remediation,
        state=row.state,
        kev=row.kev,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        due_at=row.due_at,
        accepted_until=row.accepted_until,
        accepted_reason=row.accepted_reason,
        accepted_by=row.accepted_by,
        flapping=row.flapping,
        accepted=row.accepted_until is not None and row.accepted_until > now,
        labels=row.labels or {},
    )


class FindingQueries:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock
        self.reads = reader(engine)
        self.registry = Registry(engine, clock)

    async def page(self, flt: FindingFilter, *, after: int = 0, limit: int = 100) -> list[FindingView]:
        query = _query(flt, self.clock.now()).where(FINDING.c.id > after).order_by(FINDING.c.id).limit(limit)
        return [_view(row, self.clock.now()) for row in await self.reads.all(query)]

    async def get(self, finding_id: int, agency_id: int | None) -> FindingView:
        query = _query(FindingFilter(agency_id=agency_id), self.clock.now()).where(FINDING.c.id == finding_id)
        row = await self.reads.first(query)
        if row is None:
            raise NotFound("id", f"no finding with id {finding_id}")
        return _view(row, self.clock.now())

    async def history(self, finding: FindingView, limit: int = 50) -> list[RunView]:
        """The runs of the check that reports this finding, newest first."""
        query = (
            select(SCAN_RUN)
            .where(SCAN_RUN.c.endpoint_id == finding.endpoint_id, SCAN_RUN.c.check == finding.check)
            .order_by(SCAN_RUN.c.started_at.desc())
            .limit(limit)
        )
        return [
            RunView(row.started_at, row.status, row.duration_s, row.observation_count, row.error)
            for row in await self.reads.all(query)
        ]

    async def accept_risk(
        self, finding_id: int, agency_id: int | None, until: datetime, reason: str, actor: Actor
    ) -> FindingView:
        """Mute a finding's alerts until `until`, with a reason; it stays open and is shown as accepted."""
        reason = reason.strip()
        if not reason:
            raise InvalidInput("reason", "say why the risk is accepted")
        if until <= self.clock.now():
            raise InvalidInput("until", "must lie in the future")
        finding = await self.get(finding_id, agency_id)
        if finding.state != "open":
            raise InvalidInput("id", "only an open finding can be accepted")
        async with self.engine.begin() as conn:
            await conn.execute(
                update(FINDING)
                .where(FINDING.c.id == finding_id)
                .values(accepted_until=until, accepted_reason=reason, accepted_by=actor.name)
            )
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                "finding.accept",
                f"{finding.agency}/{finding.endpoint_id}/{finding.key}",
                {"until": until.isoformat(), "reason": reason},
            )
        return await self.get(finding_id, agency_id)

    async def revoke_acceptance(self, finding_id: int, agency_id: int | None, actor: Actor) -> FindingView:
        finding = await self.get(finding_id, agency_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(FINDING)
                .where(FINDING.c.id == finding_id)
                .values(accepted_until=None, accepted_reason=None, accepted_by=None)
            )
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                "finding.unaccept",
                f"{finding.agency}/{finding.endpoint_id}/{finding.key}",
                {},
            )
        return await self.get(finding_id, agency_id)

    async def stream(self, flt: FindingFilter, chunk: int = 1000) -> AsyncIterator[list[FindingView]]:
        """Every matching finding in chunks, for the CSV export."""
        after = 0
        while True:
            rows = await self.page(flt, after=after, limit=chunk)
            if not rows:
                return
            yield rows
            after = rows[-1].id

"""The latest-results snapshot that /metrics is rendered from: one consistent read, no per-series state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.models import OpenFinding, Severity, asset_name
from monitor.store.finding_queries import accepted_at, open_at
from monitor.store.tables import (
    AGENCY,
    CHECK_STATE,
    DISCOVERY_CANDIDATE,
    ENDPOINT,
    FINDING,
    LATEST,
    OUTBOX,
    VULN_SOURCE,
)


@dataclass(frozen=True, slots=True)
class EndpointRow:
    id: int
    agency: str
    host: str
    port: int

    @property
    def label(self) -> str:
        return asset_name(self.host, self.port)


@dataclass(frozen=True, slots=True)
class LatestRow:
    endpoint_id: int
    check: str
    status: str
    started_at: datetime
    details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """Counts of one agency's findings of one check and severity. An accepted risk counts only as `accepted`:
    `open`, `oldest_first_seen` and `overdue` are about the findings still open for alerting."""

    agency: str
    check: str
    severity: int
    open: int
    oldest_first_seen: datetime | None
    overdue: int
    accepted: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    endpoints: dict[int, EndpointRow]
    latest: list[LatestRow]
    findings: list[FindingGroup]
    outbox_pending: int
    due_backlog: int
    # open findings by (endpoint, check), loaded only for the checks asked for
    open_findings: dict[tuple[int, str], list[OpenFinding]] = field(default_factory=dict)
    vulndb_updated: dict[str, datetime] = field(default_factory=dict)  # by feed: kev, nvd, eol
    # discovered assets by (agency, state): candidate, registered, dismissed
    discovered: dict[tuple[str, str], int] = field(default_factory=dict)


async def load_snapshot(engine: AsyncEngine, findings_of: Sequence[str] = (), clock: Clock = SYSTEM_CLOCK) -> Snapshot:
    now = clock.now()
    async with engine.connect() as conn:
        endpoints = {
            row.id: EndpointRow(row.id, row.slug, row.host, row.port)
            for row in await conn.execute(
                select(ENDPOINT.c.id, ENDPOINT.c.host, ENDPOINT.c.port, AGENCY.c.slug).join(
                    AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id
                )
            )
        }
        latest = [
            LatestRow(row.endpoint_id, row.check, row.status, row.started_at, row.details)
            for row in await conn.execute(
                select(LATEST.c.endpoint_id, LATEST.c.check, LATEST.c.status, LATEST.c.started_at, LATEST.c.details)
            )
        ]
        open_, accepted = open_at(now), accepted_at(now)
        findings = [
            FindingGroup(row.slug, row.check, row.severity, row.open, row.oldest, int(row.overdue), int(row.accepted))
            for row in await conn.execute(
                select(
                    AGENCY.c.slug,
                    FINDING.c.check,
                    FINDING.c.severity,
                    func.count().filter(open_).label("open"),
                    func.min(FINDING.c.first_seen).filter(open_).label("oldest"),
                    func.count().filter(open_, FINDING.c.due_at <= now).label("overdue"),
                    func.count().filter(accepted).label("accepted"),
                )
                .join(ENDPOINT, ENDPOINT.c.id == FINDING.c.endpoint_id)
                .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                .group_by(AGENCY.c.slug, FINDING.c.check, FINDING.c.severity)
            )
        ]
        pending = await conn.execute(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None)))
        backlog = await conn.execute(
            select(func.count())
            .select_from(CHECK_STATE)
            .where(CHECK_STATE.c.next_due <= now, CHECK_STATE.c.lease_owner.is_(None))
        )
        open_findings: dict[tuple[int, str], list[OpenFinding]] = {}
        if findings_of:
            rows = await conn.execute(
                select(
                    FINDING.c.endpoint_id, FINDING.c.check, FINDING.c.key, FINDING.c.severity, FINDING.c.detail
                ).where(open_, FINDING.c.check.in_(findings_of))
            )
            for row in rows:
                open_findings.setdefault((row.endpoint_id, row.check), []).append(
                    OpenFinding(row.key, Severity(row.severity), row.detail)
                )
        vulndb: dict[str, datetime] = dict(
            (await conn.execute(select(VULN_SOURCE.c.source, VULN_SOURCE.c.updated_at))).all()
        )
        discovered = {
            (row.slug, row.state): int(row.candidates)
            for row in await conn.execute(
                select(AGENCY.c.slug, DISCOVERY_CANDIDATE.c.state, func.count().label("candidates"))
                .join(AGENCY, AGENCY.c.id == DISCOVERY_CANDIDATE.c.agency_id)
                .group_by(AGENCY.c.slug, DISCOVERY_CANDIDATE.c.state)
            )
        }
        return Snapshot(
            now,
            endpoints,
            latest,
            findings,
            int(pending.scalar_one()),
            int(backlog.scalar_one()),
            open_findings,
            vulndb,
            discovered,
        )

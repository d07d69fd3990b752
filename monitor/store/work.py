"""The scheduler's side of the store: claim due checks under a lease, record results in one transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.cadence import Cadence
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.findings import FindingState
from monitor.models import DEFAULT_LANGUAGE, CheckResult, CheckStatus, Language, Observation, Severity, parse_language
from monitor.scope import ScopeEntry
from monitor.store import finding_store
from monitor.store.bulk import insert_rows, update_rows
from monitor.store.columns import one_of
from monitor.store.finding_store import ALERT_COLUMNS, AlertTarget, alert_target, jsonable, severity_or_none
from monitor.store.registry import Registry
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, LATEST, SCAN_RUN

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueItem:
    endpoint_id: int
    check: str
    agency_id: int
    agency: str
    host: str
    port: int
    interval_s: float
    agency_min_severity: Severity | None = None
    agency_language: Language = DEFAULT_LANGUAGE  # of its alerts
    expected_ports: tuple[int, ...] = ()
    check_settings: Mapping[str, Any] = field(default_factory=dict)  # this check's overrides on this endpoint
    agency_settings: Mapping[str, Any] = field(default_factory=dict)  # … and on all the agency's endpoints
    rescan_requested_at: datetime | None = None  # the agency asked for a re-scan (to verify a fix)

    @property
    def alert_target(self) -> AlertTarget:
        return AlertTarget(
            self.agency, self.endpoint_id, self.host, self.port, self.agency_min_severity, self.agency_language
        )

    @property
    def key(self) -> tuple[int, str]:
        return self.endpoint_id, self.check


@dataclass(frozen=True, slots=True)
class Claim:
    items: list[DueItem]
    scopes: dict[int, list[ScopeEntry]]  # by agency id


def _observation_json(observation: Observation) -> dict[str, Any]:
    return {
        "key": observation.key,
        "severity": observation.severity.label,
        "title": observation.title,
        "detail": jsonable(observation.detail),
        "remediation": observation.remediation,
    }


class WorkQueue:
    """Due work under leases, and the recording transaction (SQL only: the rules are recording's, in
    monitor/usecases/recording.py)."""

    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        cadence: Cadence,
        lease_s: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.cadence = cadence  # the interval of each claimed check (endpoint overrides, defaults)
        self.lease = timedelta(seconds=lease_s)
        self.registry = Registry(engine, clock)

    async def claim(self, now: datetime, limit: int) -> Claim:
        """Lease up to `limit` due checks, oldest first; other replicas skip the rows we lock."""
        due = (
            select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check)
            .where(
                CHECK_STATE.c.next_due <= now,
                or_(CHECK_STATE.c.lease_expires.is_(None), CHECK_STATE.c.lease_expires < now),
            )
            .order_by(CHECK_STATE.c.next_due)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(CHECK_STATE)
            .where(tuple_(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check).in_(due))
            .values(lease_owner=self.owner, lease_expires=now + self.lease)
            .returning(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check)
        )
        async with self.engine.begin() as conn:
            claimed = (await conn.execute(claim)).all()
            if not claimed:
                return Claim([], {})
            return await self._describe(conn, claimed)

    async def _describe(self, conn: AsyncConnection, claimed: Sequence[Any]) -> Claim:
        """What the scheduler needs of each claimed (endpoint, check): the endpoint, its agency, their scopes."""
        endpoint_ids = sorted({row.endpoint_id for row in claimed})
        # endpoints by primary key, then their few agencies: a join let the planner walk the agency index
        endpoint_columns = (
            ENDPOINT.c.id,
            ENDPOINT.c.host,
            ENDPOINT.c.port,
            ENDPOINT.c.intervals,
            ENDPOINT.c.agency_id,
            ENDPOINT.c.expected_ports,
            ENDPOINT.c.check_settings,
            ENDPOINT.c.rescan_requested_at,
        )
        endpoints = {
            row.id: row
            for row in await conn.execute(
                select(*endpoint_columns).where(one_of(conn.dialect, ENDPOINT.c.id, endpoint_ids))
            )
        }
        agency_ids = sorted({row.agency_id for row in endpoints.values()})
        agency_columns = (AGENCY.c.id, AGENCY.c.check_settings, *ALERT_COLUMNS)
        agencies = {
            row.id: row
            for row in await conn.execute(select(*agency_columns).where(one_of(conn.dialect, AGENCY.c.id, agency_ids)))
        }
        items = []
        for row in claimed:
            endpoint = endpoints.get(row.endpoint_id)
            if endpoint is None:  # deleted since it fell due
                continue
            agency = agencies[endpoint.agency_id]
            items.append(
                DueItem(
                    endpoint_id=row.endpoint_id,
                    check=row.check,
                    agency_id=endpoint.agency_id,
                    agency=agency.slug,
                    host=endpoint.host,
                    port=endpoint.port,
                    interval_s=self.cadence.interval_for(endpoint.intervals, row.check),
                    agency_min_severity=severity_or_none(agency.min_alert_severity),
                    agency_language=parse_language(agency.alert_language),
                    expected_ports=tuple(endpoint.expected_ports),
                    check_settings=endpoint.check_settings.get(row.check, {}),
                    agency_settings=(agency.check_settings or {}).get(row.check, {}),
                    rescan_requested_at=endpoint.rescan_requested_at,
                )
            )
        return Claim(items, await self.registry.scopes_by_agency(conn, agency_ids))

    async def release(self, items: Iterable[DueItem]) -> None:
        """Give back leases of checks we claimed but did not run (shutdown): they stay due."""
        keys = [item.key for item in items]
        if not keys:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(CHECK_STATE)
                .where(
                    tuple_(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check).in_(keys),
                    CHECK_STATE.c.lease_owner == self.owner,
                )
                .values(lease_owner=None, lease_expires=None)
            )

    async def release_all(self) -> int:
        """At start: leases this instance held before it died are ours to retake now, not after expiry."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(CHECK_STATE)
                .where(CHECK_STATE.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_expires=None)
            )
        return int(result.rowcount)

    async def next_due(self) -> datetime | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(func.min(CHECK_STATE.c.next_due)).where(CHECK_STATE.c.lease_owner.is_(None)))
            ).scalar()
        return cast(datetime | None, value)

    async def latest_details(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
        if not keys:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(LATEST.c.endpoint_id, LATEST.c.check, LATEST.c.details).where(
                    tuple_(LATEST.c.endpoint_id, LATEST.c.check).in_(keys), LATEST.c.details.is_not(None)
                )
            )
            # a first run that failed stored JSON null, which is not SQL NULL
            return {(row.endpoint_id, row.check): row.details for row in rows if row.details is not None}

    @asynccontextmanager
    async def recording(self) -> AsyncIterator[RecordingTx]:
        """One transaction of recording: all of it lands, or none of it."""
        async with self.engine.begin() as conn:
            yield RecordingTx(conn, self.owner)


class RecordingTx:
    """What recording reads and writes in its one transaction (a batch of results, a re-judgement, a sweep)."""

    def __init__(self, conn: AsyncConnection, owner: str) -> None:
        self.conn = conn
        self.owner = owner

    async def owned_failures(self, endpoint_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        """The (endpoint, check) leases this instance still holds, with their consecutive failures."""
        rows = await self.conn.execute(
            select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check, CHECK_STATE.c.consecutive_failures).where(
                one_of(self.conn.dialect, CHECK_STATE.c.endpoint_id, endpoint_ids),
                CHECK_STATE.c.lease_owner == self.owner,
            )
        )
        return {(row.endpoint_id, row.check): row.consecutive_failures for row in rows}

    async def findings(self, endpoint_ids: Sequence[int]) -> dict[int, finding_store.StoredFindings]:
        return await finding_store.load(self.conn, endpoint_ids)

    async def save_findings(self, changes: Sequence[tuple[int, FindingState, int | None]]) -> list[int]:
        """(endpoint id, state, row id or None when new) → the row ids, in order."""
        return await finding_store.save(self.conn, changes)

    async def alert_targets(self, endpoint_ids: Sequence[int]) -> dict[int, tuple[int, AlertTarget]]:
        """By endpoint: its agency's id and where its alerts go."""
        rows = await self.conn.execute(
            select(ENDPOINT.c.id, ENDPOINT.c.host, ENDPOINT.c.port, ENDPOINT.c.agency_id)
            .add_columns(*ALERT_COLUMNS)
            .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
            .where(ENDPOINT.c.id.in_(endpoint_ids))
        )
        return {row.id: (row.agency_id, alert_target(row, row.id)) for row in rows}

    async def sweep_candidates(
        self, now: datetime, reminders: Mapping[Severity, timedelta]
    ) -> list[tuple[int, FindingState, AlertTarget, int]]:
        return await finding_store.sweep_candidates(self.conn, now, reminders)

    async def add_scan_runs(self, done: Sequence[tuple[DueItem, CheckResult[Any]]]) -> None:
        await insert_rows(self.conn, SCAN_RUN, [self._scan_run(item, result) for item, result in done])

    async def set_states(self, states: Sequence[Mapping[str, Any]]) -> None:
        """Each run's check state (next due, failures, last status), its lease given back."""
        await update_rows(
            self.conn,
            CHECK_STATE,
            ["endpoint_id", "check"],
            states,
            constants={"lease_owner": None, "lease_expires": None},
        )

    async def queue_alerts(self, rows: Iterable[dict[str, Any] | None]) -> int:
        return await finding_store.write_outbox(self.conn, rows)

    def _scan_run(self, item: DueItem, result: CheckResult[Any]) -> dict[str, Any]:
        return {
            "endpoint_id": item.endpoint_id,
            "check": item.check,
            "status": result.status.value,
            "started_at": result.started_at,
            "duration_s": result.duration_s,
            "observation_count": len(result.observations),
            "error": result.error,
            "worker": self.owner,
        }

    async def upsert_latest(self, results: Sequence[CheckResult[Any]], rejudged: bool = False) -> None:
        """A failed run updates the status but keeps the last good facts (a timeout must not forget the expiry
        date). A re-judgement ran no scan: it changes the observations (and the details it re-derived) only, so
        that the last run's status, time and error, which /metrics shows, stay those of the scan."""
        for ok in (True,) if rejudged else (True, False):  # a re-judgement is always of good facts
            rows = [
                {
                    "endpoint_id": result.endpoint_id,
                    "check": result.check,
                    "status": result.status.value,
                    "started_at": result.started_at,
                    "duration_s": result.duration_s,
                    "error": result.error,
                    "details": result.details.model_dump(mode="json")
                    if isinstance(result.details, BaseModel)
                    else jsonable(result.details),
                    "observations": [_observation_json(o) for o in result.observations],
                }
                for result in results
                if (result.status is CheckStatus.OK) == ok
            ]
            scan = [] if rejudged else ["status", "started_at", "duration_s", "error"]
            updated = scan + (["details", "observations"] if ok else [])
            await insert_rows(self.conn, LATEST, rows, conflict=["endpoint_id", "check"], update_columns=updated)

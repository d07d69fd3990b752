"""The scheduler's side of the store: claim due checks under a lease, record results in one transaction."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.cadence import Cadence
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.findings import FindingState, Policy, reconcile, sweep
from monitor.models import CheckResult, CheckStatus, Observation, Severity
from monitor.scope import ScopeEntry
from monitor.store import finding_store
from monitor.store.bulk import insert_rows, update_rows
from monitor.store.columns import one_of
from monitor.store.finding_store import AlertRouter, AlertTarget, jsonable, severity_or_none
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
    expected_ports: tuple[int, ...] = ()
    check_settings: Mapping[str, Any] = field(default_factory=dict)  # this check's overrides on this endpoint
    agency_settings: Mapping[str, Any] = field(default_factory=dict)  # … and on all the agency's endpoints
    rescan_requested_at: datetime | None = None  # the agency asked for a re-scan (to verify a fix)

    @property
    def alert_target(self) -> AlertTarget:
        return AlertTarget(self.agency, self.endpoint_id, self.host, self.port, self.agency_min_severity)

    @property
    def key(self) -> tuple[int, str]:
        return self.endpoint_id, self.check


@dataclass(frozen=True, slots=True)
class Claim:
    items: list[DueItem]
    scopes: dict[int, list[ScopeEntry]]  # by agency id


def _verified(state: FindingState, item: DueItem, result: CheckResult[Any]) -> FindingState:
    """A finding that disappears in a run the agency asked for (re-scan after a fix) is resolved as verified."""
    requested = item.rescan_requested_at
    if state.is_open or state.resolution != "not_seen" or requested is None or requested > result.started_at:
        return state
    return dataclasses.replace(state, resolution="fix_verified")


def _observation_json(observation: Observation) -> dict[str, Any]:
    return {
        "key": observation.key,
        "severity": observation.severity.label,
        "title": observation.title,
        "detail": jsonable(observation.detail),
        "remediation": observation.remediation,
    }


class WorkQueue:
    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        cadence: Cadence,
        policy: Policy,
        lease_s: float,
        router: AlertRouter | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner
        self.cadence = cadence
        self.policy = policy
        self.lease = timedelta(seconds=lease_s)
        self.router = router or AlertRouter("http://127.0.0.1:8080", Severity.LOW)
        self.on_outbox: Callable[[], None] | None = None  # told when rows were queued (wakes the publisher)
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
        agency_columns = (AGENCY.c.id, AGENCY.c.slug, AGENCY.c.min_alert_severity, AGENCY.c.check_settings)
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

    async def record(self, done: Sequence[tuple[DueItem, CheckResult[Any]]]) -> int:
        """Store results, findings, outbox rows and the next due time in one transaction.

        Results for leases we no longer own (expired and taken over) are dropped. Returns how many were kept.
        """
        if not done:
            return 0
        now = self.clock.now()
        endpoint_ids = sorted({item.endpoint_id for item, _ in done})
        async with self.engine.begin() as conn:
            failures = await self._owned(conn, endpoint_ids)
            kept = [(item, result) for item, result in done if item.key in failures]
            if len(kept) < len(done):
                log.warning("dropped %d results whose lease expired before they finished", len(done) - len(kept))
            findings = await finding_store.load(conn, endpoint_ids)
            scan_runs, states, outbox = [], [], []
            for item, result in kept:
                stored = findings.setdefault(item.endpoint_id, {})
                failures_after, current, rows = await self._judge(conn, item, result, failures[item.key], stored, now)
                outbox += rows
                scan_runs.append(self._scan_run(item, result))
                due = self.cadence.next_due(result.started_at, item.interval_s, finding_store.is_risky(current))
                states.append(
                    {
                        "endpoint_id": item.endpoint_id,
                        "check": item.check,
                        # start to start: a slow check does not stretch its endpoint's cadence
                        "next_due": max(now, due),
                        "consecutive_failures": failures_after,
                        "last_status": result.status.value,
                        "last_run_at": result.started_at,
                    }
                )
            await insert_rows(conn, SCAN_RUN, scan_runs)
            await self._upsert_latest(conn, [result for _, result in kept])
            await update_rows(
                conn,
                CHECK_STATE,
                ["endpoint_id", "check"],
                states,
                constants={"lease_owner": None, "lease_expires": None},
            )
            queued = await finding_store.write_outbox(conn, outbox)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        return len(kept)

    async def _judge(
        self,
        conn: AsyncConnection,
        item: DueItem,
        result: CheckResult[Any],
        failures_before: int,
        stored: finding_store.StoredFindings,
        now: datetime,
    ) -> tuple[int, dict[str, FindingState], list[dict[str, Any] | None]]:
        """Reconcile one result with the endpoint's findings and save them: (failures, this check's findings,
        outbox rows). `stored` is updated, so a later result of the same batch sees these changes."""
        known = {key: state for key, (_, state) in stored.items()}
        outcome = reconcile(known, result, failures_before, self.policy, now)
        changed = [_verified(state, item, result) for state in outcome.states]
        ids = await finding_store.save(conn, item.endpoint_id, changed, stored)
        for state in changed:
            stored[state.key] = (ids[state.key], state)
        current = {key: state for key, (_, state) in stored.items() if state.check == item.check}
        rows = [
            self.router.row(item.alert_target, event, now, ids.get(event.key), current.get(event.key))
            for event in outcome.events
        ]
        return outcome.failures, current, rows

    async def record_rejudged(self, results: Sequence[CheckResult[Any]]) -> int:
        """Findings from stored facts judged again (a new KEV entry): no scan ran, so the schedule and the
        scan history stay as they are; findings, alerts and the latest result change. Returns events queued."""
        results = [result for result in results if result.endpoint_id is not None]
        if not results:
            return 0
        now = self.clock.now()
        endpoint_ids = sorted({result.endpoint_id for result in results if result.endpoint_id is not None})
        async with self.engine.begin() as conn:
            endpoints = {
                row.id: row
                for row in await conn.execute(
                    select(ENDPOINT.c.id, ENDPOINT.c.host, ENDPOINT.c.port, ENDPOINT.c.agency_id)
                    .add_columns(AGENCY.c.slug, AGENCY.c.min_alert_severity)
                    .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                    .where(ENDPOINT.c.id.in_(endpoint_ids))
                )
            }
            findings = await finding_store.load(conn, endpoint_ids)
            outbox: list[dict[str, Any] | None] = []
            for result in results:
                endpoint = endpoints.get(result.endpoint_id or 0)
                if endpoint is None:
                    continue  # removed meanwhile
                item = DueItem(
                    endpoint.id, result.check, endpoint.agency_id, endpoint.slug, endpoint.host, endpoint.port, 0.0,
                    severity_or_none(endpoint.min_alert_severity),
                )  # fmt: skip
                stored = findings.setdefault(endpoint.id, {})
                outbox += (await self._judge(conn, item, result, 0, stored, now))[2]
            await self._upsert_latest(conn, results)
            queued = await finding_store.write_outbox(conn, outbox)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        return queued

    async def sweep(self, now: datetime | None = None) -> int:
        """Time-driven lifecycle (reminders, deadlines, expired acceptances); returns events queued."""
        now = now or self.clock.now()
        async with self.engine.begin() as conn:
            candidates = await finding_store.sweep_candidates(conn, now, self.policy)
            by_endpoint_key = {
                (endpoint_id, state.key): (finding_id, target) for finding_id, state, target, endpoint_id in candidates
            }
            changes = sweep([(endpoint_id, state) for _, state, _, endpoint_id in candidates], self.policy, now)
            rows = []
            for endpoint_id, state, event in changes:
                finding_id, target = by_endpoint_key[(endpoint_id, state.key)]
                await finding_store.save(conn, endpoint_id, [state], {state.key: (finding_id, state)})
                if event is not None:
                    rows.append(self.router.row(target, event, now, finding_id, state))
            queued = await finding_store.write_outbox(conn, rows)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        return queued

    async def _owned(self, conn: AsyncConnection, endpoint_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        rows = await conn.execute(
            select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check, CHECK_STATE.c.consecutive_failures).where(
                one_of(conn.dialect, CHECK_STATE.c.endpoint_id, endpoint_ids), CHECK_STATE.c.lease_owner == self.owner
            )
        )
        return {(row.endpoint_id, row.check): row.consecutive_failures for row in rows}

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

    async def _upsert_latest(self, conn: AsyncConnection, results: Sequence[CheckResult[Any]]) -> None:
        # A failed run updates the status but keeps the last good facts (a timeout must not forget the expiry date).
        for ok in (True, False):
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
            updated = ["status", "started_at", "duration_s", "error"] + (["details", "observations"] if ok else [])
            await insert_rows(conn, LATEST, rows, conflict=["endpoint_id", "check"], update_columns=updated)

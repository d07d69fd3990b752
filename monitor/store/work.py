"""The scheduler's side of the store: claim due checks under a lease, record results in one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import bindparam, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.cadence import Cadence
from monitor.findings import KnownFinding, reconcile
from monitor.models import CheckResult, CheckStatus, EventType, FindingEvent, Observation, Severity
from monitor.scope import ScopeEntry
from monitor.store.registry import AGENCY, CHECK_STATE, ENDPOINT, Registry
from monitor.store.tables import Finding, LatestResult, Outbox, ScanRun

FINDING = Finding.__table__  # type: ignore[attr-defined]
LATEST = LatestResult.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
SCAN_RUN = ScanRun.__table__  # type: ignore[attr-defined]

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

    @property
    def key(self) -> tuple[int, str]:
        return self.endpoint_id, self.check


@dataclass(frozen=True, slots=True)
class Claim:
    items: list[DueItem]
    scopes: dict[int, list[ScopeEntry]]  # by agency id


@dataclass(slots=True)
class _FindingRow:
    id: int
    check: str
    severity: Severity
    state: str


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=str)


def _observation_json(observation: Observation) -> dict[str, Any]:
    return {
        "key": observation.key,
        "severity": observation.severity.label,
        "title": observation.title,
        "detail": _jsonable(observation.detail),
        "remediation": observation.remediation,
    }


class WorkQueue:
    def __init__(
        self, engine: AsyncEngine, owner: str, cadence: Cadence, unreachable_after: int, lease_s: float
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.cadence = cadence
        self.unreachable_after = unreachable_after
        self.lease = timedelta(seconds=lease_s)
        self.registry = Registry(engine)
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = dialect.insert

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
            endpoint_ids = sorted({row.endpoint_id for row in claimed})
            rows = await conn.execute(
                select(ENDPOINT.c.id, ENDPOINT.c.host, ENDPOINT.c.port, ENDPOINT.c.intervals, ENDPOINT.c.agency_id)
                .add_columns(AGENCY.c.slug)
                .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                .where(ENDPOINT.c.id.in_(endpoint_ids))
            )
            endpoints = {row.id: row for row in rows}
            scopes = await self.registry.scopes_by_agency(conn, sorted({row.agency_id for row in endpoints.values()}))
        items = [
            DueItem(
                endpoint_id=row.endpoint_id,
                check=row.check,
                agency_id=endpoint.agency_id,
                agency=endpoint.slug,
                host=endpoint.host,
                port=endpoint.port,
                interval_s=self.cadence.interval_for(endpoint.intervals, row.check),
            )
            for row in claimed
            if (endpoint := endpoints.get(row.endpoint_id)) is not None
        ]
        return Claim(items, scopes)

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
        return value

    async def latest_details(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
        if not keys:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(LATEST.c.endpoint_id, LATEST.c.check, LATEST.c.details).where(
                    tuple_(LATEST.c.endpoint_id, LATEST.c.check).in_(keys), LATEST.c.details.is_not(None)
                )
            )
            return {(row.endpoint_id, row.check): row.details for row in rows}

    async def record(self, done: Sequence[tuple[DueItem, CheckResult[Any]]]) -> int:
        """Store results, findings, outbox rows and the next due time in one transaction.

        Results for leases we no longer own (expired and taken over) are dropped. Returns how many were kept.
        """
        if not done:
            return 0
        now = datetime.now(UTC)
        endpoint_ids = sorted({item.endpoint_id for item, _ in done})
        async with self.engine.begin() as conn:
            failures = await self._owned(conn, endpoint_ids)
            kept = [(item, result) for item, result in done if item.key in failures]
            if len(kept) < len(done):
                log.warning("dropped %d results whose lease expired before they finished", len(done) - len(kept))
            findings = await self._findings(conn, endpoint_ids)
            scan_runs, states, events = [], [], []
            for item, result in kept:
                known = findings.get(item.key, {})
                outcome = reconcile(
                    {key: KnownFinding(key, row.severity, row.state == "open") for key, row in known.items()},
                    result,
                    failures[item.key],
                    self.unreachable_after,
                )
                await self._apply_findings(conn, item, result, known, now)
                risky = self._risky(result, known)
                events += [(item, event) for event in outcome.events]
                scan_runs.append(self._scan_run(item, result))
                states.append(
                    {
                        "e": item.endpoint_id,
                        "c": item.check,
                        # start to start: a slow check does not stretch its endpoint's cadence
                        "due": max(now, self.cadence.next_due(result.started_at, item.interval_s, risky)),
                        "failures": outcome.failures,
                        "status": result.status.value,
                        "ran": result.started_at,
                    }
                )
            if kept:
                await conn.execute(insert(SCAN_RUN), scan_runs)
                await self._upsert_latest(conn, [result for _, result in kept])
                await conn.execute(
                    update(CHECK_STATE)
                    .where(CHECK_STATE.c.endpoint_id == bindparam("e"), CHECK_STATE.c.check == bindparam("c"))
                    .values(
                        next_due=bindparam("due"),
                        lease_owner=None,
                        lease_expires=None,
                        consecutive_failures=bindparam("failures"),
                        last_status=bindparam("status"),
                        last_run_at=bindparam("ran"),
                    ),
                    states,
                )
            if events:
                await conn.execute(insert(OUTBOX), [self._outbox_row(item, event, now) for item, event in events])
        return len(kept)

    async def _owned(self, conn: AsyncConnection, endpoint_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        rows = await conn.execute(
            select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.check, CHECK_STATE.c.consecutive_failures).where(
                CHECK_STATE.c.endpoint_id.in_(endpoint_ids), CHECK_STATE.c.lease_owner == self.owner
            )
        )
        return {(row.endpoint_id, row.check): row.consecutive_failures for row in rows}

    async def _findings(
        self, conn: AsyncConnection, endpoint_ids: Sequence[int]
    ) -> dict[tuple[int, str], dict[str, _FindingRow]]:
        rows = await conn.execute(
            select(
                FINDING.c.id, FINDING.c.endpoint_id, FINDING.c.check, FINDING.c.key, FINDING.c.severity, FINDING.c.state
            ).where(FINDING.c.endpoint_id.in_(endpoint_ids))
        )
        found: dict[tuple[int, str], dict[str, _FindingRow]] = {}
        for row in rows:
            found.setdefault((row.endpoint_id, row.check), {})[row.key] = _FindingRow(
                row.id, row.check, Severity(row.severity), row.state
            )
        return found

    async def _apply_findings(
        self,
        conn: AsyncConnection,
        item: DueItem,
        result: CheckResult[Any],
        known: dict[str, _FindingRow],
        now: datetime,
    ) -> None:
        if result.status is not CheckStatus.OK:
            return
        seen = {observation.key for observation in result.observations}
        for observation in result.observations:
            values = {
                "severity": int(observation.severity),
                "title": observation.title,
                "detail": _jsonable(observation.detail),
                "remediation": observation.remediation,
                "state": "open",
                "last_seen": now,
                "resolved_at": None,
            }
            previous = known.get(observation.key)
            if previous is None:
                await conn.execute(
                    insert(FINDING).values(
                        endpoint_id=item.endpoint_id, check=item.check, key=observation.key, first_seen=now, **values
                    )
                )
            else:
                if previous.state != "open":
                    values["first_seen"] = now
                await conn.execute(update(FINDING).where(FINDING.c.id == previous.id).values(**values))
        resolved = [row.id for key, row in known.items() if row.state == "open" and key not in seen]
        if resolved:
            await conn.execute(
                update(FINDING).where(FINDING.c.id.in_(resolved)).values(state="resolved", resolved_at=now)
            )

    @staticmethod
    def _risky(result: CheckResult[Any], known: dict[str, _FindingRow]) -> bool:
        if result.status is CheckStatus.OK:
            return any(observation.severity >= Severity.HIGH for observation in result.observations)
        return any(row.state == "open" and row.severity >= Severity.HIGH for row in known.values())

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
                    else _jsonable(result.details),
                    "observations": [_observation_json(o) for o in result.observations],
                }
                for result in results
                if (result.status is CheckStatus.OK) == ok
            ]
            if not rows:
                continue
            statement = self._insert(LATEST)
            updated = ["status", "started_at", "duration_s", "error"] + (["details", "observations"] if ok else [])
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[LATEST.c.endpoint_id, LATEST.c.check],
                    set_={name: statement.excluded[name] for name in updated},
                ),
                rows,
            )

    def _outbox_row(self, item: DueItem, event: FindingEvent, now: datetime) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "type": event.type.value,
            "agency": item.agency,
            "endpoint_id": item.endpoint_id,
            "severity": int(event.severity),
            "data": {
                "agency": item.agency,
                "endpoint_id": item.endpoint_id,
                "endpoint": f"{item.host}:{item.port}",
                "check": event.check,
                "key": event.key,
                "severity": event.severity.label,
                "title": event.title,
                "detail": _jsonable(event.detail),
                "remediation": event.remediation,
                "observed_at": now.isoformat(),
                "resolved": event.type is EventType.FINDING_RESOLVED,
            },
            "created_at": now,
        }
